package idvmocktest

import (
	"log/slog"
	"strings"

	"github.com/idvmock/idvmock/scenarios"
	"github.com/idvmock/idvmock/scenarios/files"
)

// Option configures a mock.
type Option func(*config) error

type config struct {
	files  []*scenarios.File
	tls    bool
	seed   int64
	strict bool
	logger *slog.Logger
}

// WithScenarioFiles loads scenario files or folders, as serve --scenarios does.
func WithScenarioFiles(paths ...string) Option {
	return func(c *config) error {
		files, err := files.ReadPaths(paths)
		c.files = append(c.files, files...)
		return err
	}
}

// WithScenarioYAML loads a scenario file given as text (see docs/scenarios.md).
func WithScenarioYAML(yaml string) Option {
	return func(c *config) error {
		f, err := files.Parse("WithScenarioYAML", strings.NewReader(yaml))
		c.files = append(c.files, f)
		return err
	}
}

// WithTLS serves HTTPS: the certificate covers the vendor's hostnames, localhost and
// 127.0.0.1, signed by a CA made for the test process (its key only in memory), which
// Client trusts. Every mock with TLS of the process serves the same certificate: it is made
// once.
func WithTLS() Option { return func(c *config) error { c.tls = true; return nil } }

// WithSeed sets the seed of the fake data and fault draws (serve --seed).
func WithSeed(seed int64) Option { return func(c *config) error { c.seed = seed; return nil } }

// WithStrictAuth accepts only unexpired tokens the token API issued (serve --auth strict).
func WithStrictAuth() Option { return func(c *config) error { c.strict = true; return nil } }

// WithLogger logs the mock's requests (default: not logged).
func WithLogger(l *slog.Logger) Option { return func(c *config) error { c.logger = l; return nil } }
