package engine

// Limits bound what an engine keeps for its clients, so that a mock left running for weeks
// keeps a flat memory whatever is sent to it. Zero fields take the defaults.
type Limits struct {
	// MaxStartedSessions bounds the sessions started through Generate URL; the oldest go
	// first. Default 10,000.
	MaxStartedSessions int
	// MaxSessionsPerUser bounds the started sessions of one userId; its oldest go first.
	// Default 100.
	MaxSessionsPerUser int
	// MaxStartedBytes bounds the Generate URL requests the started sessions echo as their
	// inputParameters, in bytes; the oldest sessions go first. Default 32 MiB.
	MaxStartedBytes int
	// MaxAdminUsers bounds the users declared through the admin API; a declaration past it is
	// refused (nothing a QA configured is dropped silently). Default 5,000.
	MaxAdminUsers int
	// MaxAdminBytes bounds those declarations' total size, refused the same way. Default
	// 32 MiB.
	MaxAdminBytes int
	// MaxProgress bounds the progress kept for userIds answered by pattern rules or the
	// scenario header, which any client can vary without end; the oldest go first. Declared
	// users' progress is always kept. Default 100,000.
	MaxProgress int
	// MaxTokens bounds the tokens the token API issued that are kept for --auth strict
	// (about 100 bytes each); past it the oldest issued go first, whatever their expiry.
	// Default 100,000.
	MaxTokens int
}

// Defaults of Limits.
const (
	DefaultMaxStartedSessions = 10_000
	DefaultMaxSessionsPerUser = 100
	DefaultMaxStartedBytes    = 32 << 20
	DefaultMaxAdminUsers      = 5_000
	DefaultMaxAdminBytes      = 32 << 20
	DefaultMaxProgress        = 100_000
	DefaultMaxTokens          = 100_000
)

// WithDefaults returns l with the defaults in its zero fields.
func (l Limits) WithDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxStartedSessions, DefaultMaxStartedSessions)
	def(&l.MaxSessionsPerUser, DefaultMaxSessionsPerUser)
	def(&l.MaxStartedBytes, DefaultMaxStartedBytes)
	def(&l.MaxAdminUsers, DefaultMaxAdminUsers)
	def(&l.MaxAdminBytes, DefaultMaxAdminBytes)
	def(&l.MaxProgress, DefaultMaxProgress)
	def(&l.MaxTokens, DefaultMaxTokens)
	return l
}
