package logline

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// same logs r with both handlers and fails unless the lines are byte for byte the same.
func same(t *testing.T, r slog.Record) {
	t.Helper()
	var fast, std bytes.Buffer
	if err := NewJSONHandler(&fast, nil).Handle(context.Background(), r.Clone()); err != nil {
		t.Fatal(err)
	}
	if err := slog.NewJSONHandler(&std, nil).Handle(context.Background(), r.Clone()); err != nil {
		t.Fatal(err)
	}
	if fast.String() != std.String() {
		t.Errorf("line differs from slog.JSONHandler's:\n got %s\nwant %s", fast.String(), std.String())
	}
}

var at = time.Date(2026, 12, 2, 5, 30, 1, 123456789, time.FixedZone("X", 3600))

// The request line's kinds of values, and strings with every kind of escape.
func TestLinesAreSlogs(t *testing.T) {
	strs := []string{"", "plain", `quote " backslash \`, "tab\tnl\ncr\r", "\x00\x01\x1f\x7f", "<html>&amp;",
		"日本語", "bad \xff\xfe utf8", "sep\u2028\u2029", "\ufffd", "emoji 😀", strings.Repeat("long ", 400)}
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 0.001, 12.345, 1e-6, 9.99e-7, 1e-7, 1.5e-10, 1e20, 1e21, 1.2345e22, -3e-9,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 123456789.125}
	for _, s := range strs {
		r := slog.NewRecord(at, slog.LevelInfo, s, 0)
		r.AddAttrs(slog.String(s+"k", s), slog.String("v", s))
		same(t, r)
	}
	for _, f := range floats {
		r := slog.NewRecord(at, slog.LevelWarn, "f", 0)
		r.AddAttrs(slog.Float64("f", f))
		same(t, r)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		r := slog.NewRecord(at, slog.LevelInfo, "request", 0)
		f := math.Float64frombits(rng.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		r.AddAttrs(slog.Float64("latencyMillis", f), slog.Float64("ms", float64(rng.IntN(1e6))/1000),
			slog.Int("status", rng.IntN(600)), slog.Int64("n", rng.Int64()-rng.Int64()), slog.Uint64("u", rng.Uint64()),
			slog.Bool("b", rng.IntN(2) == 0), slog.Duration("d", time.Duration(rng.Int64())))
		same(t, r)
	}
	line := slog.NewRecord(time.Time{}, slog.LevelError, "no time", 0)
	line.AddAttrs(slog.String("path", "/x"))
	same(t, line)
}

// What the fast path leaves to slog is written by slog: still the same lines.
func TestOtherRecordsGoToSlog(t *testing.T) {
	for _, a := range [][]slog.Attr{
		{slog.Any("error", errors.New("boom"))},
		{slog.Time("at", at)},
		{slog.Group("g", slog.String("a", "b"))},
		{slog.Float64("nan", math.NaN())},
		{slog.Float64("inf", math.Inf(1))},
		{slog.String("", "empty key")},
		{slog.Any("", nil)},
		{slog.Any("m", map[string]int{"a": 1})},
	} {
		r := slog.NewRecord(at, slog.LevelInfo, "other", 0)
		r.AddAttrs(a...)
		same(t, r)
	}
	r := slog.NewRecord(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), slog.LevelInfo, "far", 0)
	same(t, r)
}

// With and WithGroup, levels, and one Write per line.
func TestWithLevelsAndWrites(t *testing.T) {
	var out countingWriter
	h := NewJSONHandler(&out, slog.LevelWarn)
	l := slog.New(h)
	l.Info("dropped")
	l.Warn("kept", "a", 1)
	l.With("svc", "idvmock").WithGroup("g").Error("grouped", "b", 2)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 || out.writes != 2 {
		t.Fatalf("%d writes of %q", out.writes, out.String())
	}
	if !strings.Contains(lines[0], `"msg":"kept","a":1}`) || !strings.Contains(lines[1], `"svc":"idvmock","g":{"b":2}`) {
		t.Errorf("lines %q", lines)
	}
}

type countingWriter struct {
	bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) { c.writes++; return c.Buffer.Write(p) }

// LogAttrs writes what Handle writes of the same record, and what slog's handler writes;
// below the level, nothing; a value it leaves to slog, as slog writes it.
func TestLogAttrsIsHandle(t *testing.T) {
	for _, attrs := range [][]slog.Attr{
		{slog.String("method", "GET"), slog.String("path", "/x\n\"y\""), slog.Int("status", 200), slog.Float64("latencyMillis", 0.123),
			slog.String("a", "1"), slog.String("b", "2"), slog.String("c", "3"), slog.Bool("d", true)},
		{slog.Any("error", errors.New("boom")), slog.String("after", "it")},
		{},
	} {
		var direct, std bytes.Buffer
		if err := NewJSONHandler(&direct, nil).LogAttrs(context.Background(), at, slog.LevelInfo, "request", attrs...); err != nil {
			t.Fatal(err)
		}
		r := slog.NewRecord(at, slog.LevelInfo, "request", 0)
		r.AddAttrs(attrs...)
		if err := slog.NewJSONHandler(&std, nil).Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		if direct.String() != std.String() {
			t.Errorf("LogAttrs wrote\n %s\nslog writes\n %s", direct.String(), std.String())
		}
	}
	var quiet bytes.Buffer
	_ = NewJSONHandler(&quiet, slog.LevelWarn).LogAttrs(context.Background(), at, slog.LevelInfo, "request", slog.String("a", "b"))
	if quiet.Len() != 0 {
		t.Errorf("below the level: %q", quiet.String())
	}
}
