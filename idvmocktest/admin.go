package idvmocktest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/idvmock/idvmock/engine"
)

// UserState is where a user stands: its states and the current one.
type UserState = engine.UserProgress

// PutUser declares (or replaces) a user, in the scenario files' format (YAML or JSON):
//
//	srv.PutUser("alice", "profileStatus: ACTIVE\nsessions: [{overallResult: PASS}]")
//
// A declaration with problems is refused with an *AdminError listing them.
func (s *Server) PutUser(userID, declaration string) error {
	return s.admin(http.MethodPut, "/users/"+url.PathEscape(userID), []byte(declaration), http.StatusOK, nil)
}

// DeleteUser removes a user: it then answers externalUserId does not exist.
func (s *Server) DeleteUser(userID string) error {
	return s.admin(http.MethodDelete, "/users/"+url.PathEscape(userID), nil, http.StatusOK, nil)
}

// User reports where a user stands.
func (s *Server) User(userID string) (UserState, error) {
	var out struct{ User UserState }
	err := s.admin(http.MethodGet, "/users/"+url.PathEscape(userID), nil, http.StatusOK, &out)
	return out.User, err
}

// Advance moves a user to its next state.
func (s *Server) Advance(userID string) (UserState, error) {
	var out struct{ User UserState }
	err := s.admin(http.MethodPost, "/users/"+url.PathEscape(userID)+"/advance", nil, http.StatusOK, &out)
	return out.User, err
}

// SetState moves a user to a state, by name or by number from 0.
func (s *Server) SetState(userID, state string) (UserState, error) {
	body, _ := json.Marshal(map[string]string{"state": state})
	var out struct{ User UserState }
	err := s.admin(http.MethodPut, "/users/"+url.PathEscape(userID)+"/state", body, http.StatusOK, &out)
	return out.User, err
}

// Reset forgets the progress and started sessions of one userId, or of all ("").
func (s *Server) Reset(userID string) error {
	path := "/reset"
	if userID != "" {
		path += "?userId=" + url.QueryEscape(userID)
	}
	return s.admin(http.MethodPost, path, nil, http.StatusOK, nil)
}

// AdminError is a refusal of the admin API: a declaration with problems, an unknown user.
type AdminError struct {
	Method, Path string
	Status       int
	Message      string   // what the mock said
	Problems     []string // each problem of a refused declaration, with line and column
}

// Error says the call, the status and what the mock said, then each problem on a line of its
// own.
func (e *AdminError) Error() string {
	msg := fmt.Sprintf("%s /__admin%s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Message)
	if len(e.Problems) > 0 {
		msg += "\n  " + strings.Join(e.Problems, "\n  ")
	}
	return msg
}

// IsRefused reports whether err is the admin API refusing a call (for example a user
// declaration with problems), rather than the mock being unreachable.
func IsRefused(err error) bool {
	var ae *AdminError
	return errors.As(err, &ae)
}

// adminError reads a refusal of the admin API: its error and problems when the answer is the
// admin API's JSON, its text otherwise.
func adminError(method, path string, status int, data []byte) error {
	var body struct {
		Error    string `json:"error"`
		Problems []struct {
			Line, Column  int
			Path, Message string
			Hint          string
		} `json:"problems"`
	}
	e := &AdminError{Method: method, Path: path, Status: status, Message: strings.TrimSpace(string(data))}
	if json.Unmarshal(data, &body) == nil && body.Error != "" {
		e.Message = body.Error
		for _, p := range body.Problems {
			e.Problems = append(e.Problems, fmt.Sprintf("%d:%d: %s: %s (%s)", p.Line, p.Column, p.Path, p.Message, p.Hint))
		}
	}
	return e
}

// admin calls the admin API and decodes its JSON answer into out (when not nil).
func (s *Server) admin(method, path string, body []byte, want int, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+"/__admin"+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		ct := "application/yaml"
		if bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return adminError(method, path, resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}
