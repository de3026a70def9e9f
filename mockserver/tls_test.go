package mockserver

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeTestCA writes to dir (created 0700) a self-signed CA made from tmpl, as an older or
// expired idvmock CA would be, with the key 0600 and ca.pem 0644. It returns ca.pem.
func writeTestCA(t *testing.T, dir string, tmpl *x509.Certificate) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = randomSerial()
	tmpl.Subject = pkix.Name{CommonName: "idvmock local CA (test)"}
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	tmpl.BasicConstraintsValid, tmpl.IsCA, tmpl.MaxPathLenZero = true, true, true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, CAKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, CACertFile), certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return certPEM
}

func loadTestCA(t *testing.T, dir string) (*CA, bool) {
	t.Helper()
	ca, created, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatalf("LoadOrCreateCA: %v", err)
	}
	return ca, created
}

func verifyFor(ca *CA, leafDER []byte, name string) error {
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return err
}

// A new CA is made in a folder of its own (0700, key 0600, ca.pem 0644), reused as is at the
// next start, and says nothing worth a warning.
func TestCACreatedThenReused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "config", "ca")
	ca, created := loadTestCA(t, dir)
	if !created || len(ca.Notes) != 0 {
		t.Fatalf("first load: created %v, notes %q; want created and no notes", created, ca.Notes)
	}
	for file, mode := range map[string]os.FileMode{".": 0o700, CAKeyFile: 0o600, CACertFile: 0o644} {
		if fi, err := os.Stat(filepath.Join(dir, file)); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, mode %v, want %v", file, err, fi.Mode().Perm(), mode)
		}
	}
	again, created := loadTestCA(t, dir)
	if created || !bytes.Equal(again.PEM, ca.PEM) || len(again.Notes) != 0 {
		t.Errorf("second load: created %v, same CA %v, notes %q; want the same CA, no notes", created, bytes.Equal(again.PEM, ca.PEM), again.Notes)
	}
}

// The CA may sign only the vendor's hostnames, localhost and loopback addresses: a leaf its key
// signs for bank.example.com fails verification, the mock's own leaf verifies.
func TestCANameConstraints(t *testing.T) {
	ca, _ := loadTestCA(t, t.TempDir())
	hosts, err := CertificateHosts()
	if err != nil {
		t.Fatal(err)
	}
	if !ca.Cert.PermittedDNSDomainsCritical {
		t.Error("the name constraints are not critical")
	}
	for _, h := range hosts {
		if net.ParseIP(h) == nil && !slices.Contains(ca.Cert.PermittedDNSDomains, h) {
			t.Errorf("PermittedDNSDomains %q lack %s", ca.Cert.PermittedDNSDomains, h)
		}
	}
	var ranges []string
	for _, r := range ca.Cert.PermittedIPRanges {
		ranges = append(ranges, r.String())
	}
	if !slices.Equal(ranges, []string{"127.0.0.0/8", "::1/128"}) {
		t.Errorf("PermittedIPRanges %q, want 127.0.0.0/8 and ::1/128", ranges)
	}

	cert, err := ca.ServerCertificate(hosts)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sg-api.advance.ai", "api.advance.ai", "vn-api.advance.ai", "localhost", "127.0.0.1", "::1"} {
		if err := verifyFor(ca, cert.Certificate[0], name); err != nil {
			t.Errorf("the mock's certificate for %s: %v", name, err)
		}
	}

	// What a stolen key would sign, bypassing ServerCertificate's own check.
	for _, name := range []string{"bank.example.com", "advance.ai.example.com", "10.0.0.1"} {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: randomSerial(), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		if ip := net.ParseIP(name); ip != nil {
			tmpl.IPAddresses = []net.IP{ip}
		} else {
			tmpl.DNSNames = []string{name}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
		if err != nil {
			t.Fatal(err)
		}
		var invalid x509.CertificateInvalidError
		if err := verifyFor(ca, der, name); !errors.As(err, &invalid) || invalid.Reason != x509.CANotAuthorizedForThisName {
			t.Errorf("a leaf for %s signed by the CA key: %v, want a name-constraints error", name, err)
		}
		if _, err := ca.ServerCertificate([]string{name}); err == nil || !strings.Contains(err.Error(), ca.Dir) {
			t.Errorf("ServerCertificate(%s): %v, want an error naming the CA folder", name, err)
		}
	}
}

// A CA lives 2 years at most, and the certificate it issues never outlives it.
func TestCALifetimes(t *testing.T) {
	ca, _ := loadTestCA(t, t.TempDir())
	now := time.Now()
	if life := ca.Cert.NotAfter.Sub(now); life > 2*366*24*time.Hour || life < 2*364*24*time.Hour {
		t.Errorf("the CA lives until %v: %v from now, want 2 years", ca.Cert.NotAfter, life)
	}
	cert, err := ca.ServerCertificate([]string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if life := cert.Leaf.NotAfter.Sub(now); life > 366*24*time.Hour || life < 364*24*time.Hour {
		t.Errorf("the certificate lives until %v, want a year", cert.Leaf.NotAfter)
	}

	// A CA with 60 days left (an older CA's last weeks): the certificate ends with it.
	dir := t.TempDir()
	end := now.Add(60 * 24 * time.Hour).Truncate(time.Second)
	writeTestCA(t, dir, &x509.Certificate{NotBefore: now.AddDate(-1, 0, 0), NotAfter: end,
		PermittedDNSDomainsCritical: true, PermittedDNSDomains: []string{"localhost"}})
	short, _ := loadTestCA(t, dir)
	cert, err = short.ServerCertificate([]string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	if !leaf.NotAfter.Equal(end) {
		t.Errorf("the certificate of a CA ending %v ends %v, want the same", end, leaf.NotAfter)
	}
}

// An expired CA is moved aside (ca.pem.expired-YYYYMMDD, ca-key.pem.expired-YYYYMMDD) and a
// new one made, with a note telling clients to trust the new ca.pem.
func TestExpiredCAIsRenewed(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	expired := now.AddDate(0, 0, -3)
	oldPEM := writeTestCA(t, dir, &x509.Certificate{NotBefore: now.AddDate(-2, 0, 0), NotAfter: expired})
	oldKey, _ := os.ReadFile(filepath.Join(dir, CAKeyFile))

	ca, created := loadTestCA(t, dir)
	if !created || bytes.Equal(ca.PEM, oldPEM) || !now.Before(ca.Cert.NotAfter) || !constrained(ca.Cert) {
		t.Fatalf("created %v, same CA %v, ends %v: want a new, constrained, valid CA", created, bytes.Equal(ca.PEM, oldPEM), ca.Cert.NotAfter)
	}
	if onDisk, _ := os.ReadFile(filepath.Join(dir, CACertFile)); !bytes.Equal(onDisk, ca.PEM) {
		t.Error("ca.pem is not the new CA")
	}
	suffix := ".expired-" + expired.UTC().Format("20060102")
	if kept, _ := os.ReadFile(filepath.Join(dir, CACertFile+suffix)); !bytes.Equal(kept, oldPEM) {
		t.Errorf("%s does not hold the old certificate", CACertFile+suffix)
	}
	if kept, _ := os.ReadFile(filepath.Join(dir, CAKeyFile+suffix)); !bytes.Equal(kept, oldKey) {
		t.Errorf("%s does not hold the old key", CAKeyFile+suffix)
	}
	if len(ca.Notes) != 1 || !strings.Contains(ca.Notes[0], "expired") || !strings.Contains(ca.Notes[0], "trust the new "+filepath.Join(dir, CACertFile)) ||
		!strings.Contains(ca.Notes[0], CACertFile+suffix) {
		t.Errorf("notes %q, want one saying the CA expired, where the old one went and that clients must trust the new ca.pem", ca.Notes)
	}
	if again, created := loadTestCA(t, dir); created || !bytes.Equal(again.PEM, ca.PEM) || len(again.Notes) != 0 {
		t.Errorf("the next start: created %v, notes %q; want the renewed CA, silently", created, again.Notes)
	}
}

// A CA that expires within 30 days is used, with a note; so is one without name constraints.
func TestCANotesOnAnOldCA(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name  string
		tmpl  *x509.Certificate
		notes []string // what each note says, in order
	}{
		{"expires in 10 days", &x509.Certificate{NotBefore: now.AddDate(-2, 0, 0), NotAfter: now.AddDate(0, 0, 10),
			PermittedDNSDomainsCritical: true, PermittedDNSDomains: []string{"localhost"}}, []string{"expires on " + now.AddDate(0, 0, 10).UTC().Format(time.DateOnly)}},
		{"no name constraints, 10 years", &x509.Certificate{NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(9, 0, 0)},
			[]string{"no name constraints"}},
		{"both", &x509.Certificate{NotBefore: now.AddDate(-10, 0, 0), NotAfter: now.AddDate(0, 0, 5)},
			[]string{"expires on", "no name constraints"}},
		{"neither: 60 days left", &x509.Certificate{NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(0, 0, 60),
			PermittedDNSDomainsCritical: true, PermittedDNSDomains: []string{"localhost"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			certPEM := writeTestCA(t, dir, tc.tmpl)
			ca, created := loadTestCA(t, dir)
			if created || !bytes.Equal(ca.PEM, certPEM) {
				t.Fatalf("created %v: want the CA in %s used as is", created, dir)
			}
			if len(ca.Notes) != len(tc.notes) {
				t.Fatalf("notes %q, want %d", ca.Notes, len(tc.notes))
			}
			for i, want := range tc.notes {
				if !strings.Contains(ca.Notes[i], want) || !strings.Contains(ca.Notes[i], dir) {
					t.Errorf("note %q, want it to say %q about %s", ca.Notes[i], want, dir)
				}
			}
			if slices.ContainsFunc(ca.Notes, func(n string) bool { return strings.Contains(n, "no name constraints") }) {
				if n := ca.Notes[len(ca.Notes)-1]; !strings.Contains(n, "any name") || !strings.Contains(n, "Remove "+dir) {
					t.Errorf("note %q, want it to say the key can sign any name and to remove %s", n, dir)
				}
			}
		})
	}
}

// A CA not valid yet (the clock went back) is refused, not renewed.
func TestCANotYetValidIsRefused(t *testing.T) {
	dir := t.TempDir()
	writeTestCA(t, dir, &x509.Certificate{NotBefore: time.Now().AddDate(0, 1, 0), NotAfter: time.Now().AddDate(1, 0, 0)})
	if _, _, err := LoadOrCreateCA(dir); err == nil || !strings.Contains(err.Error(), "clock") || !strings.Contains(err.Error(), dir) {
		t.Errorf("LoadOrCreateCA: %v, want an error about the clock naming %s", err, dir)
	}
}

func TestCAShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/home/me/.config/idvmock/ca":              "/home/me/.config/idvmock/ca",
		"/Users/me/Library/Application Support/ca": "'/Users/me/Library/Application Support/ca'",
		"/tmp/it's":        `'/tmp/it'\''s'`,
		"/tmp/$(rm -rf ~)": "'/tmp/$(rm -rf ~)'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
