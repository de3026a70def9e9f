package mockserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Files of a CA folder.
const (
	CACertFile = "ca.pem"     // the CA certificate: what clients trust
	CAKeyFile  = "ca-key.pem" // its private key, mode 0600
)

// Lifetimes. A CA lives 2 years at most; the certificate it issues at each start lives a
// year, but never past the CA. A CA that expires within caExpiryWarning is used with a note.
const (
	caLifeYears     = 2
	leafLifeYears   = 1
	caExpiryWarning = 30 * 24 * time.Hour
)

// caIPRanges are the addresses the CA may sign for: this machine's loopback, nothing else.
var caIPRanges = []string{"127.0.0.0/8", "::1/128"}

// CA is the local certificate authority that signs the mock's HTTPS certificate, so that
// clients reach https://sg-api.advance.ai (resolved to the mock) trusting one file.
type CA struct {
	Dir  string
	Cert *x509.Certificate
	PEM  []byte // Cert, PEM-encoded: the content of Dir/ca.pem
	// Notes are warnings for whoever runs the mock, found while loading the CA: it expired
	// and was replaced (clients must trust the new ca.pem), it expires soon, or it has no
	// name constraints. Each is a sentence that says what to do; log every one of them.
	Notes []string
	key   *ecdsa.PrivateKey
}

// DefaultCADir is where the CA lives unless --ca-dir says otherwise: idvmock/ca under the
// user's configuration folder ($XDG_CONFIG_HOME or ~/.config on Linux).
func DefaultCADir() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no configuration folder to keep the CA in (%v): give --ca-dir", err)
	}
	return filepath.Join(dir, "idvmock", "ca"), nil
}

// LoadOrCreateCA loads the CA kept in dir, or creates one there. created says which.
//
// Like ssh with its keys, it refuses (on Unix) a folder that other users may write to, since
// they could plant a key of theirs, and a key that they may read or write, since whoever
// reads it can sign certificates the clients trust; it refuses both, and ca.pem, when another
// user owns them. A folder it creates is 0700, with the key 0600 and ca.pem 0644; a folder
// that exists already keeps its mode (0755 lets a volume share ca.pem with other users).
//
// An expired CA is renewed, not refused: it can no longer sign a certificate clients accept,
// refusing would only make the user delete it by hand, and the new one is trusted by nobody
// until they are told to trust it. The old files are kept aside as ca.pem.expired-YYYYMMDD
// and ca-key.pem.expired-YYYYMMDD (the day it expired), created is true and a note says that
// clients must trust the new ca.pem. A CA that expires within 30 days is used, with a note; so
// is one without name constraints (made by an older idvmock), whose key can sign any name.
func LoadOrCreateCA(dir string) (ca *CA, created bool, err error) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, false, fmt.Errorf("creating the CA folder: %w", err)
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, false, fmt.Errorf("creating the CA folder: %w", err)
		}
		ca, err := createCA(dir)
		return ca, err == nil, err
	case err != nil:
		return nil, false, fmt.Errorf("the CA folder: %w", err)
	case !fi.IsDir():
		return nil, false, fmt.Errorf("the CA folder %s is not a folder: give --ca-dir a folder to keep the CA in", dir)
	}
	if err := checkCAFile(dir, fi, caFolder); err != nil {
		return nil, false, err
	}
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	certPEM, certFound, err := readCAFile(certPath, caCert)
	if err != nil {
		return nil, false, err
	}
	keyPEM, keyFound, err := readCAFile(keyPath, caKey)
	if err != nil {
		return nil, false, err
	}
	switch {
	case !certFound && !keyFound:
		ca, err := createCA(dir)
		return ca, err == nil, err
	case !certFound || !keyFound:
		return nil, false, fmt.Errorf("%s holds only one of %s and %s: remove it to create a new CA, or restore the other file", dir, CACertFile, CAKeyFile)
	}
	ca, err = parseCA(dir, certPEM, keyPEM)
	if err != nil {
		return nil, false, err
	}
	return checkCADates(ca, time.Now())
}

// checkCADates renews ca when it expired, refuses it before its validity, and notes that it
// expires soon or has no name constraints.
func checkCADates(ca *CA, now time.Time) (*CA, bool, error) {
	dir := ca.Dir
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	switch notAfter := ca.Cert.NotAfter; {
	case now.Before(ca.Cert.NotBefore):
		return nil, false, fmt.Errorf("the CA in %s is not valid before %s: is this machine's clock right? If it is, remove %s to create a new CA",
			dir, ca.Cert.NotBefore.UTC().Format(time.RFC3339), shellQuote(dir))
	case !now.Before(notAfter):
		return renewCA(ca)
	case notAfter.Sub(now) < caExpiryWarning:
		ca.Notes = append(ca.Notes, fmt.Sprintf("the CA in %s expires on %s: the mock's HTTPS certificate ends with it. "+
			"idvmock replaces it at the first start after that day, and clients must then trust the new %s; "+
			"to do it now, remove %s and %s and start again",
			dir, notAfter.UTC().Format(time.DateOnly), certPath, shellQuote(certPath), shellQuote(keyPath)))
	}
	if !constrained(ca.Cert) {
		ca.Notes = append(ca.Notes, fmt.Sprintf("the CA in %s has no name constraints (an older idvmock made it, valid until %s): "+
			"its key can sign a certificate for any name, bank.example.com included, that clients trusting its %s accept. "+
			"Remove %s and start again to create a CA limited to the vendor's hostnames and localhost, then have clients trust the new %s",
			dir, ca.Cert.NotAfter.UTC().Format(time.DateOnly), CACertFile, shellQuote(dir), CACertFile))
	}
	return ca, false, nil
}

// renewCA moves the files of the expired CA old aside and creates a new one in its folder.
func renewCA(old *CA) (*CA, bool, error) {
	dir := old.Dir
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	suffix := ".expired-" + old.Cert.NotAfter.UTC().Format("20060102")
	for i := 2; exists(certPath+suffix) || exists(keyPath+suffix); i++ {
		suffix = fmt.Sprintf(".expired-%s-%d", old.Cert.NotAfter.UTC().Format("20060102"), i)
	}
	if err := os.Rename(certPath, certPath+suffix); err != nil {
		return nil, false, fmt.Errorf("the CA in %s has expired; moving it aside to create a new one: %w", dir, err)
	}
	if err := os.Rename(keyPath, keyPath+suffix); err != nil {
		os.Rename(certPath+suffix, certPath)
		return nil, false, fmt.Errorf("the CA in %s has expired; moving it aside to create a new one: %w", dir, err)
	}
	ca, err := createCA(dir)
	if err != nil {
		return nil, false, err
	}
	ca.Notes = append(ca.Notes, fmt.Sprintf("the CA in %s expired on %s: created a new one and kept the old one as %s and %s. "+
		"Clients that trusted the old %s must now trust the new %s",
		dir, old.Cert.NotAfter.UTC().Format(time.DateOnly), CACertFile+suffix, CAKeyFile+suffix, CACertFile, certPath))
	return ca, true, nil
}

// createCA makes a new CA and writes it to dir, which holds neither of its files.
func createCA(dir string) (*CA, error) {
	ca, err := newCA(dir)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(ca.key)
	if err != nil {
		return nil, err
	}
	keyPath := filepath.Join(dir, CAKeyFile)
	if err := writeNewFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("writing the CA key: %w", err)
	}
	if err := writeNewFile(filepath.Join(dir, CACertFile), ca.PEM, 0o644); err != nil {
		os.Remove(keyPath)
		return nil, fmt.Errorf("writing the CA certificate: %w", err)
	}
	return ca, nil
}

// newCA makes a CA that lives 2 years and may sign only the vendor's hostnames, localhost and
// loopback addresses: critical name constraints, so that its key, were it stolen, could not
// sign bank.example.com for the clients that trust it.
func newCA(dir string) (*CA, error) {
	hosts, err := CertificateHosts()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, h := range hosts {
		if net.ParseIP(h) == nil {
			names = append(names, h)
		}
	}
	var ranges []*net.IPNet
	for _, cidr := range caIPRanges {
		_, r, err := net.ParseCIDR(cidr)
		if err != nil {
			return nil, err
		}
		ranges = append(ranges, r)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:                randomSerial(),
		Subject:                     pkix.Name{CommonName: "idvmock local CA (" + host + ")", Organization: []string{"idvmock"}},
		NotBefore:                   now.Add(-time.Hour),
		NotAfter:                    now.AddDate(caLifeYears, 0, 0),
		KeyUsage:                    x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid:       true,
		IsCA:                        true,
		MaxPathLenZero:              true,
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         names,
		PermittedIPRanges:           ranges,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Dir: dir, Cert: cert, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key: key}, nil
}

// constrained says whether cert limits the names it may sign for.
func constrained(cert *x509.Certificate) bool {
	return len(cert.PermittedDNSDomains) > 0 || len(cert.PermittedIPRanges) > 0 || len(cert.PermittedEmailAddresses) > 0 ||
		len(cert.PermittedURIDomains) > 0
}

func parseCA(dir string, certPEM, keyPEM []byte) (*CA, error) {
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, fmt.Errorf("%s: %s or %s is not PEM: remove the folder to create a new CA", dir, CACertFile, CAKeyFile)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, CACertFile), err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, CAKeyFile), err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("%s: the key does not belong to the certificate", dir)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%s: %s is not a CA certificate", dir, CACertFile)
	}
	return &CA{Dir: dir, Cert: cert, PEM: pem.EncodeToMemory(cb), key: key}, nil
}
