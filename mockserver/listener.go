package mockserver

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/idvmock/idvmock"
)

// plainErrorHeaders ends the head of the plain-text answer net/http itself writes to a
// request it cannot parse (bad request line, header too large, unsupported transfer
// encoding). The mock's handlers never send text/plain, so this marks those answers only.
var plainErrorHeaders = []byte("\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n")

// WrapListener returns a listener whose connections turn net/http's own plain-text error
// answers into the vendor's JSON envelope, with the same status and a CLIENT_ERROR code, so
// that even a request that is not valid HTTP gets an answer a client can parse.
func WrapListener(ln net.Listener) net.Listener { return envelopeListener{ln} }

type envelopeListener struct{ net.Listener }

func (l envelopeListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &envelopeConn{Conn: c}, nil
}

type envelopeConn struct{ net.Conn }

func (c *envelopeConn) Write(p []byte) (int, error) {
	status, detail, ok := parsePlainError(p)
	if !ok {
		return c.Conn.Write(p)
	}
	if detail == "" {
		detail = "the request is not valid HTTP; percent-encode spaces and control characters in the URL, and keep headers printable"
	}
	body, err := marshal(idvmock.NewErrorEnvelope(idvmock.CodeClientError, clientErrorMessage(status, detail), newTransactionID()))
	if err != nil {
		return c.Conn.Write(p)
	}
	head := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
		status, http.StatusText(status), len(body))
	if _, err := c.Conn.Write(append([]byte(head), body...)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// CloseWrite keeps net/http's graceful close of a connection after a protocol error.
func (c *envelopeConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// parsePlainError recognises "HTTP/1.1 400 Bad Request: detail" + plainErrorHeaders + text
// and returns the status and the detail.
func parsePlainError(p []byte) (status int, detail string, ok bool) {
	const prefix = "HTTP/1.1 "
	if !bytes.HasPrefix(p, []byte(prefix)) || len(p) < len(prefix)+3 || p[len(prefix)] == '2' {
		return 0, "", false
	}
	end := bytes.Index(p, plainErrorHeaders)
	if end < 0 {
		return 0, "", false
	}
	line := string(p[len(prefix):end])
	status, err := strconv.Atoi(line[:3])
	if err != nil {
		return 0, "", false
	}
	if _, after, found := strings.Cut(line, ": "); found {
		detail = after
	}
	return status, detail, true
}
