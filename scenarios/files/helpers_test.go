package files

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
)

// newTestEngine answers from the built-in files and the valid fixtures named.
func newTestEngine(t testing.TB, extra ...string) *engine.Engine {
	t.Helper()
	files, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range extra {
		f, err := parseTestFile(t, filepath.Join("testdata", "valid", name))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	e, err := engine.NewEngine(0, files, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// builtinSet is the set the built-in files compile to.
func builtinSet(t testing.TB) (*engine.Set, error) {
	t.Helper()
	files, err := Builtin()
	if err != nil {
		return nil, err
	}
	return engine.New(0, files...)
}

// answered is what a test reads of a reply to Get Latest Session Result.
type answered struct {
	Code, Message string
	Data          *idvmock.LatestData // on SUCCESS
}

// ask answers Get Latest Session Result for req, on sg unless it names a region.
func ask(t testing.TB, e *engine.Engine, req engine.Request) answered {
	t.Helper()
	if req.Region == "" {
		req.Region, req.Country = "sg", "SGP"
	}
	if req.Operation == "" {
		req.Operation = idvmock.OpGetLatest
	}
	out, err := answerOf(t.Context(), e, req)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// answerOf is what the engine answers req; an error when it could not answer as the
// scenarios declare (a failure, a client error, an answer that could not be built).
func answerOf(ctx context.Context, e *engine.Engine, req engine.Request) (answered, error) {
	r := e.Handle(ctx, req)
	switch {
	case r.Trace.Err != nil:
		return answered{}, r.Trace.Err
	case r.Status != 200 || r.Trace.Note != "":
		return answered{}, fmt.Errorf("HTTP %d %s %s: %s", r.Status, r.Code, r.Message, r.Trace.Note)
	}
	out := answered{Code: r.Code, Message: r.Message}
	out.Data, _ = r.Data.(*idvmock.LatestData)
	return out, nil
}

// result decodes an answer's result.
func result(t testing.TB, out answered) *idvmock.Result {
	t.Helper()
	if out.Data == nil {
		t.Fatalf("%s %s: no data", out.Code, out.Message)
	}
	var r idvmock.Result
	if err := json.Unmarshal(out.Data.Result, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// putUser declares a user as PUT /__admin/users does.
func putUser(e *engine.Engine, id, declaration string) error {
	f, err := ParseUser(id, []byte(declaration))
	if err != nil {
		return err
	}
	return e.PutUser(context.Background(), f, id, len(declaration))
}
