package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/engine/redisstore"
	"github.com/idvmock/idvmock/mockserver"
	"github.com/idvmock/idvmock/webhook"
)

// Defaults of serve. The keys are the vendor's published sample keys, so that its documented
// test vector signs requests the mock accepts. The mock listens on loopback unless told
// otherwise: its admin API is then open to this machine only.
const (
	defaultAddr      = "127.0.0.1:8080"
	defaultAccessKey = idvmock.SampleAccessKey
	defaultSecretKey = idvmock.SampleSecretKey
)

// adminTokenOff, given to --admin-token, leaves the admin API open beyond loopback.
const adminTokenOff = "off"

const serveExamples = `  idvmock serve                                   # on 127.0.0.1:8080; the admin API is open to this machine
  idvmock serve --addr :8080                      # on every interface; the admin API needs a token, logged at start
  idvmock serve --addr :8080 --admin-token-file /run/secrets/idvmock-admin --callback-allow '*.qa.example.com'
  idvmock serve --auth strict --access-key my-key --secret-key my-secret
  idvmock serve --addr :8080 --store redis://redis.qa.internal:6379/0 --store-password-file /run/secrets/redis   # one of several replicas
  idvmock serve --webhook-url http://localhost:9000/idv-webhook --webhook-secret-file qa/webhook-secret --webhook-retry-scale 0.01
  curl -s -H 'X-ACCESS-TOKEN: any' -H 'Host: sg-api.advance.ai' \
    'http://localhost:8080/intl/openapi/identity-risk/idvs-h5/ekyc/v1/customer-profile/get-latest-session-result?userId=user_active'
`

// serveFlags are serve's settings.
type serveFlags struct {
	addr, tlsAddr, caDir, tlsCert, tlsKey *string
	auth, logFormat                       *choice
	accessKey, secretKey                  *string
	seed                                  *int64
	paths                                 stringList
	watch                                 *bool
	watchInterval, watchSettle            *time.Duration
	adminToken, adminTokenFile            *string
	journalSize                           *int
	dashboardViewers                      *int
	publicURL                             *string
	callbackAllow                         *string
	callbackMaxPending                    *int
	bodyTimeout                           *time.Duration
	limits                                engine.Limits
	webhookURL                            *string
	webhookSecret, webhookSecretFile      *string
	webhookAlgorithm                      algorithmFlag
	webhookFormat                         *string
	webhookRetryScale                     *float64
	store, storePrefix, storePasswordFile *string
}

// algorithmFlag is --webhook-algorithm: sha256 or sha512 (also HMAC-SHA256, HMAC-SHA512).
type algorithmFlag struct{ alg webhook.Algorithm }

func (a *algorithmFlag) String() string { return string(a.alg) }

func (a *algorithmFlag) Set(v string) error {
	alg, err := webhook.ParseAlgorithm(v)
	if err == nil {
		a.alg = alg
	}
	return err
}

func (c *serveCmd) flags() (*flags, *serveFlags) {
	fs := newFlags("serve", "Run the mock of ADVANCE.AI's identity-verification API.", serveExamples, c.stdout)
	f := &serveFlags{}
	f.addr = fs.String("addr", defaultAddr, "`address` to listen on for plain HTTP (\"\" for none, with --tls-addr); beyond loopback (:8080), the admin API needs a token")
	f.tlsAddr = fs.String("tls-addr", "", "`address` to serve HTTPS on too (:443, :8443), with a certificate for the vendor's hostnames and localhost")
	f.caDir = fs.String("ca-dir", "", "`folder` of the local CA that signs the HTTPS certificate; created on first use (default: idvmock/ca under the user's config folder)")
	f.tlsCert = fs.String("tls-cert", "", "`file` of your own HTTPS certificate (PEM, with its chain) instead of the local CA's")
	f.tlsKey = fs.String("tls-key", "", "`file` of the key of --tls-cert")
	f.auth = fs.choiceFlag("auth", "token check: present (any non-blank X-ACCESS-TOKEN) or strict (only unexpired tokens the token API issued)",
		string(mockserver.AuthPresent), string(mockserver.AuthStrict))
	f.accessKey = fs.String("access-key", defaultAccessKey, "accessKey the token API accepts")
	f.secretKey = fs.String("secret-key", defaultSecretKey, "secretKey the token API signs with")
	f.seed = fs.Int64("seed", 0, "seed of the fake data and of fault draws; the same seed gives the same bodies")
	f.logFormat = fs.choiceFlag("log-format", "log format: text or json", "text", "json")
	fs.Var(&f.paths, "scenarios", "scenario file or folder to load on top of the built-in set (repeatable; comma-separated in IDVMOCK_SCENARIOS)")
	f.watch = fs.Bool("watch", false, "reload the scenario files when they change; a broken change is refused and the previous set keeps answering")
	f.watchInterval = fs.Duration("watch-interval", time.Second, "how often --watch polls the files (it also listens to file-system notifications where it can)")
	f.watchSettle = fs.Duration("watch-settle", 300*time.Millisecond, "how long the files must stay unchanged before --watch applies a change (a file is never read half-written)")
	f.adminToken = fs.String("admin-token", "", "require Authorization: Bearer <token> on /__admin/ (health excepted); beyond loopback one is generated and logged unless given; \"off\": no token at all")
	f.adminTokenFile = fs.String("admin-token-file", "", "`file` holding the admin token, to keep it off the command line")
	f.journalSize = fs.Int("journal-size", mockserver.DefaultJournalSize, "requests the journal keeps (a ring: the oldest go first)")
	f.dashboardViewers = fs.Int("dashboard-viewers", mockserver.DefaultDashboardViewers, "live journal streams (dashboard tabs) open at once; more are refused with 503")
	f.publicURL = fs.String("public-url", "", "base URL of the H5 pages Generate URL hands out (default: the request's scheme and Host)")
	f.callbackAllow = fs.String("callback-allow", "", "hosts and networks callbacks may go to (app.internal,*.example.com,10.0.0.0/8); empty: anywhere. Set it on a shared instance")
	f.callbackMaxPending = fs.Int("callback-max-pending", mockserver.DefaultCallbackMaxPending, "callbacks pending at once (queued, sent or waiting to retry); more are dropped and journaled")
	f.bodyTimeout = fs.Duration("body-timeout", mockserver.DefaultBodyTimeout, "time a client has to send a request's body")
	f.webhookURL = fs.String("webhook-url", "", "`URL` of the account's signed webhook: completions of sessions started without callbackUrl are POSTed there, signed (see the README's \"Signed webhooks\")")
	f.webhookSecret = fs.String("webhook-secret", "", "the webhook's shared secret, `Base64` as the vendor's console shows it (never logged); prefer --webhook-secret-file")
	f.webhookSecretFile = fs.String("webhook-secret-file", "", "`file` holding --webhook-secret, to keep it off the command line")
	f.webhookAlgorithm.alg = webhook.SHA256
	fs.Var(&f.webhookAlgorithm, "webhook-algorithm", "the webhook signature's HMAC: sha256 or sha512")
	f.webhookFormat = fs.String("webhook-format", webhook.DefaultFormat, "the signed string: {timestamp}, {nonce} and {body} with any literal text between (idvmock's Decision: the vendor does not publish it)")
	f.webhookRetryScale = fs.Float64("webhook-retry-scale", 1, "multiplies the webhook's retry waits (5s, 10s, 20s) and 60s timeout, for tests: 0.01 gives 50ms, 100ms, 200ms and 600ms (0.001 to 1)")
	f.limits.MaxStartedBytes, f.limits.MaxAdminBytes = engine.DefaultMaxStartedBytes, engine.DefaultMaxAdminBytes
	f.store = fs.String("store", storeMemory, "where the state that changes lives: memory (this process), or `redis://[user:pass@]host:port/db` (rediss:// for TLS) shared by every replica on it")
	f.storePrefix = fs.String("store-prefix", redisstore.DefaultPrefix, "prefix of every key in a shared store, so that several mocks can share one Redis")
	f.storePasswordFile = fs.String("store-password-file", "", "`file` holding the shared store's password (overrides the URL's), to keep it off the command line")
	fs.IntVar(&f.limits.MaxStartedSessions, "max-started-sessions", engine.DefaultMaxStartedSessions, "sessions started through Generate URL kept in all; the oldest go first")
	fs.IntVar(&f.limits.MaxSessionsPerUser, "max-sessions-per-user", engine.DefaultMaxSessionsPerUser, "started sessions kept per userId; its oldest go first")
	fs.Var(byteSize{&f.limits.MaxStartedBytes}, "max-started-bytes", "`size` of the Generate URL requests started sessions keep (32MiB); the oldest sessions go first")
	fs.IntVar(&f.limits.MaxAdminUsers, "max-admin-users", engine.DefaultMaxAdminUsers, "users the admin API may declare; past it a declaration is refused (507)")
	fs.Var(byteSize{&f.limits.MaxAdminBytes}, "max-admin-bytes", "`size` of the declarations the admin API keeps (32MiB); past it a declaration is refused (507)")
	fs.IntVar(&f.limits.MaxProgress, "max-progress", engine.DefaultMaxProgress, "progress entries kept for userIds that rules and X-Mock-Scenario answer; the oldest go first")
	fs.IntVar(&f.limits.MaxTokens, "max-tokens", engine.DefaultMaxTokens, "strict mode: issued tokens kept (about 100 bytes each); the oldest go first")
	return fs, f
}

// serveSettings are serve's flags once checked, with what the checks read from them.
type serveSettings struct {
	*serveFlags
	allow      mockserver.CallbackAllow // --callback-allow, parsed
	adminToken string                   // --admin-token, or what --admin-token-file holds
	webhook    mockserver.Webhook       // the --webhook-* flags, checked; no URL: none
}

// settings parses serve's command line and checks every flag. It reads --admin-token-file
// but opens, creates and starts nothing: a mistake is reported before serve has begun.
func (c *serveCmd) settings(args []string) (*serveSettings, error) {
	fs, f := c.flags()
	if err := fs.parse(args); err != nil {
		return nil, err
	}
	if *f.addr == "" && *f.tlsAddr == "" {
		return nil, usagef("--addr is empty and there is no --tls-addr: nothing to serve on")
	}
	if (*f.tlsCert == "") != (*f.tlsKey == "") {
		return nil, usagef("give --tls-cert and --tls-key together")
	}
	if *f.watch && len(f.paths) == 0 {
		return nil, usagef("--watch needs --scenarios: there is nothing to watch")
	}
	allow, err := mockserver.ParseCallbackAllow(*f.callbackAllow)
	if err != nil {
		return nil, usagef("--callback-allow: %v", err)
	}
	adminToken, err := readAdminToken(*f.adminToken, *f.adminTokenFile)
	if err != nil {
		return nil, err
	}
	if *f.accessKey == "" || *f.secretKey == "" {
		// mockserver.New refuses them in the same words, but only once serve listens.
		return nil, errors.New("the access key and the secret key must not be empty")
	}
	hook, err := webhookSettings(f)
	if err != nil {
		return nil, err
	}
	if err := checkStore(*f.store); err != nil {
		return nil, err
	}
	return &serveSettings{serveFlags: f, allow: allow, adminToken: adminToken, webhook: hook}, nil
}

// webhookSettings checks the --webhook-* flags: a URL the mock can POST to, one Base64
// secret, a format with known placeholders and a scale in range. Its messages never show the
// secret.
func webhookSettings(f *serveFlags) (mockserver.Webhook, error) {
	url, secret, file := *f.webhookURL, *f.webhookSecret, *f.webhookSecretFile
	switch {
	case url == "" && (secret != "" || file != ""):
		return mockserver.Webhook{}, usagef("a webhook secret is given but --webhook-url is not: give the receiver's URL with --webhook-url, or drop the secret")
	case url == "":
		return mockserver.Webhook{}, nil
	case secret != "" && file != "":
		return mockserver.Webhook{}, usagef("give --webhook-secret or --webhook-secret-file, not both")
	case secret == "" && file == "":
		return mockserver.Webhook{}, usagef("--webhook-url needs the secret the vendor's console shows (Base64): give --webhook-secret-file (or --webhook-secret)")
	}
	if err := mockserver.CheckWebhookURL(url); err != nil {
		return mockserver.Webhook{}, usagef("--webhook-url: %v", err)
	}
	from := "--webhook-secret"
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return mockserver.Webhook{}, fmt.Errorf("--webhook-secret-file: %w", err)
		}
		secret, from = string(data), "--webhook-secret-file "+file
	}
	key, err := webhook.DecodeSecret(secret)
	if err != nil {
		return mockserver.Webhook{}, usagef("%s: %v", from, err)
	}
	format, err := webhook.ParseFormat(*f.webhookFormat)
	if err != nil {
		return mockserver.Webhook{}, usagef("--webhook-format: %v", err)
	}
	scale := *f.webhookRetryScale
	if !(scale >= mockserver.MinWebhookRetryScale && scale <= 1) {
		return mockserver.Webhook{}, usagef("--webhook-retry-scale %g: use a number from %g to 1 (1, the default, is the vendor's schedule; 0.01 makes it 100 times faster for tests)",
			scale, mockserver.MinWebhookRetryScale)
	}
	return mockserver.Webhook{URL: url, Secret: key, Algorithm: f.webhookAlgorithm.alg, Format: format, RetryScale: scale}, nil
}

// readAdminToken is the admin token given by --admin-token or --admin-token-file (not both).
func readAdminToken(flag, file string) (string, error) {
	switch {
	case flag != "" && file != "":
		return "", usagef("give --admin-token or --admin-token-file, not both")
	case file == "":
		return flag, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--admin-token-file: %w", err)
	}
	token := strings.TrimSpace(string(data))
	switch {
	case token == "":
		return "", usagef("--admin-token-file %s is empty: write the token in it", file)
	case strings.ContainsAny(token, " \t\r\n"):
		return "", usagef("--admin-token-file %s holds more than one line or word: write the token alone", file)
	}
	return token, nil
}

// byteSize is a flag of a number of bytes, written as 1048576, 64KiB, 32MiB or 1GiB.
type byteSize struct{ n *int }

func (b byteSize) String() string {
	if b.n == nil {
		return ""
	}
	switch n := *b.n; {
	case n > 0 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + "MiB"
	case n > 0 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + "KiB"
	default:
		return strconv.Itoa(n)
	}
}

func (b byteSize) Set(v string) error {
	units := []struct {
		suffix string
		scale  int
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}, {"", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(v, u.suffix); ok {
			n, err := strconv.Atoi(strings.TrimSpace(num))
			if err != nil || n <= 0 {
				break
			}
			*b.n = n * u.scale
			return nil
		}
	}
	return fmt.Errorf("%q is not a size: write bytes, or a number with KiB, MiB or GiB (32MiB)", v)
}
