package contract

import (
	"context"
	"errors"
	"testing"
)

// Errors in the options name the field at fault in Go terms, with the value given; a command
// line words them with its flags from Field and Value.
func TestUsageErrorsNameTheField(t *testing.T) {
	_, proxyErr := NewProxy(ProxyOptions{Upstream: "sg-api.advance.ai"})
	for _, tc := range []struct {
		err          error
		field, value string
		msg          string
	}{
		{runErr(Options{Target: "localhost:8080"}), "Target", "localhost:8080",
			`Target "localhost:8080": give a base URL such as http://localhost:8080 or https://sg-api.advance.ai`},
		{runErr(Options{Target: "http://localhost:8080", Regions: []string{"sg", "eu"}}), "Regions", "eu",
			`Regions "eu": not a region: use one of global, sg, ph, th, my, vn, or none for every region`},
		{runErr(Options{Target: "https://api.advance.ai"}), "Token", "",
			"Token: against the vendor, give a Token, or an AccessKey and a SecretKey to obtain one"},
		{proxyErr, "Upstream", "sg-api.advance.ai", `Upstream "sg-api.advance.ai": give a base URL such as https://sg-api.advance.ai`},
	} {
		var usage UsageError
		if !errors.As(tc.err, &usage) || usage.Field != tc.field || usage.Value != tc.value || tc.err.Error() != tc.msg {
			t.Errorf("%#v: want a UsageError of %s %q: %s", tc.err, tc.field, tc.value, tc.msg)
		}
	}
}

func runErr(opts Options) error {
	_, err := Run(context.Background(), opts)
	return err
}
