// Package logline writes slog records as JSON lines, as slog.JSONHandler writes them, but
// faster for the records the mock writes for every request: flat, of strings, numbers and
// booleans. Every other record (groups, attributes added by With, errors, times, any other
// value) is handed to a slog.JSONHandler on the same writer, so every line reads the same.
package logline

import (
	"context"
	"io"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// JSONHandler is a slog.Handler whose output is slog.JSONHandler's.
type JSONHandler struct {
	w     *lockedWriter
	level slog.Leveler
	std   slog.Handler // for the records the fast path does not take, on the same w
}

// lockedWriter makes one Write of each line, whichever handler wrote it.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// NewJSONHandler writes to w the records at or above level (slog.LevelInfo when nil).
func NewJSONHandler(w io.Writer, level slog.Leveler) *JSONHandler {
	if level == nil {
		level = slog.LevelInfo
	}
	lw := &lockedWriter{w: w}
	return &JSONHandler{w: lw, level: level, std: slog.NewJSONHandler(lw, &slog.HandlerOptions{Level: level})}
}

// Enabled reports whether level is logged.
func (h *JSONHandler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

// WithAttrs and WithGroup hand over to slog's JSON handler: what they add is rare, and only
// the records of the fast path need to be fast.
func (h *JSONHandler) WithAttrs(attrs []slog.Attr) slog.Handler { return h.std.WithAttrs(attrs) }

// WithGroup: see WithAttrs.
func (h *JSONHandler) WithGroup(name string) slog.Handler { return h.std.WithGroup(name) }

var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Handle writes r as one line.
func (h *JSONHandler) Handle(ctx context.Context, r slog.Record) error {
	var room [16]slog.Attr
	attrs := room[:0]
	r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
	ok, err := h.write(r.Time, r.Level, r.Message, attrs)
	if !ok {
		return h.std.Handle(ctx, r)
	}
	return err
}

// LogAttrs writes what Handle would write of a record of attrs at t: a line of the
// records the mock writes for every request, without the slog.Record (and its allocation
// past five attributes). Below the handler's level it writes nothing.
func (h *JSONHandler) LogAttrs(ctx context.Context, t time.Time, level slog.Level, msg string, attrs ...slog.Attr) error {
	if !h.Enabled(ctx, level) {
		return nil
	}
	ok, err := h.write(t, level, msg, attrs)
	if !ok {
		r := slog.NewRecord(t, level, msg, 0)
		r.AddAttrs(attrs...)
		return h.std.Handle(ctx, r)
	}
	return err
}

// write writes one line, or reports false for a record it leaves to slog's handler.
func (h *JSONHandler) write(t time.Time, level slog.Level, msg string, attrs []slog.Attr) (bool, error) {
	p := buffers.Get().(*[]byte)
	defer func() {
		if cap(*p) <= 16<<10 {
			buffers.Put(p)
		}
	}()
	b := (*p)[:0]
	b = append(b, '{')
	if !t.IsZero() {
		if y := t.Year(); y < 0 || y >= 10000 {
			return false, nil
		}
		b = append(b, `"time":"`...)
		b = t.AppendFormat(b, time.RFC3339Nano)
		b = append(b, `",`...)
	}
	b = append(b, `"level":`...)
	b = appendString(b, level.String())
	b = append(b, `,"msg":`...)
	b = appendString(b, msg)
	for _, a := range attrs {
		if a.Key == "" {
			return false, nil // slog drops some of these and not others: let it decide
		}
		b = append(b, ',')
		b = appendString(b, a.Key)
		b = append(b, ':')
		var ok bool
		if b, ok = appendValue(b, a.Value); !ok {
			return false, nil
		}
	}
	b = append(b, "}\n"...)
	*p = b
	_, err := h.w.Write(b)
	return true, err
}

// appendValue appends v as slog.JSONHandler does, or reports false for a value it leaves to
// slog.
func appendValue(b []byte, v slog.Value) ([]byte, bool) {
	switch v.Kind() {
	case slog.KindString:
		return appendString(b, v.String()), true
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10), true
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10), true
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool()), true
	case slog.KindDuration:
		return strconv.AppendInt(b, int64(v.Duration()), 10), true
	case slog.KindFloat64:
		f := v.Float64()
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return b, false
		}
		return appendFloat(b, f), true
	}
	return b, false
}

// appendFloat writes f as encoding/json does (which slog calls for floats): plain decimals
// from 1e-6 to 1e21, the shortest exponent form outside.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // 1e-07 → 1e-7
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString appends s quoted as slog's JSON handler quotes: encoding/json's escapes
// without its HTML ones, invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
