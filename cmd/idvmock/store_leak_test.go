package main

import (
	"strings"
	"testing"
)

// A --store URL that does not parse still keeps its password out of the message.
func TestStoreURLErrorsKeepThePasswordOut(t *testing.T) {
	for _, raw := range []string{
		"redis://user:s3cr%zzet@127.0.0.1:6379/0", // a bad escape
		"redis://user:s3cr#et@127.0.0.1:6379/0",   // '#' starts a fragment: the host is "user:s3cr"
		"redis://user:s3cr et@127.0.0.1:6379/0",   // a space
		"redis://:s3cr/et@127.0.0.1:6379/0",       // '/' ends the authority
		"redis://user:s3cret@[::1/0",              // a bad host
	} {
		err, log, listened := serveOutcome(t, "--store", raw)
		if err == nil || listened {
			t.Errorf("--store %q: served (err %v)", raw, err)
			continue
		}
		for _, secret := range []string{"s3cr", "et@"} {
			if strings.Contains(err.Error(), secret) || strings.Contains(log, secret) {
				t.Errorf("--store %q: the password shows: %v\n%s", raw, err, log)
			}
		}
	}
}
