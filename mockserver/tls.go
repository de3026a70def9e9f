package mockserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/idvmock/idvmock"
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
	now := time.Now()
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

// writeNewFile creates path, which must not exist (a planted file or link is not followed),
// with mode perm whatever the umask.
func writeNewFile(path string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
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

// caFileKind is what checkCAFile looks at: the folder, the certificate or the key.
type caFileKind int

const (
	caFolder caFileKind = iota
	caCert
	caKey
)

// readCAFile reads the CA file at path after checking, on the open file, who may change or
// read it. found is false when there is no such file.
func readCAFile(path string, kind caFileKind) (data []byte, found bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading the CA: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("reading the CA: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, false, fmt.Errorf("refusing %s: it is not a regular file; remove it to create a new CA", path)
	}
	if err := checkCAFile(path, fi, kind); err != nil {
		return nil, false, err
	}
	data, err = io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, false, fmt.Errorf("reading the CA: %w", err)
	}
	return data, true, nil
}

// checkCAMode refuses a CA file whose mode perm lets other users change it, or read it when
// it is the key. It tells what to run to fix it.
func checkCAMode(path string, perm fs.FileMode, kind caFileKind) error {
	switch {
	case kind == caFolder && perm&0o022 != 0:
		return fmt.Errorf("refusing the CA folder %s: its mode %04o lets other users write to it, and so plant a CA key that your clients would trust. Run: chmod 700 %s",
			path, perm, shellQuote(path))
	case kind == caKey && perm&0o077 != 0:
		return fmt.Errorf("refusing the CA key %s: its mode %04o lets other users read or write it, and whoever reads it can sign certificates that your clients trust. Run: chmod 600 %s "+
			"(if others may have read it already, remove %s instead to create a new CA)",
			path, perm, shellQuote(path), shellQuote(filepath.Dir(path)))
	case kind == caCert && perm&0o022 != 0:
		return fmt.Errorf("refusing the CA certificate %s: its mode %04o lets other users replace what your clients trust. Run: chmod 644 %s",
			path, perm, shellQuote(path))
	}
	return nil
}

// checkCAOwner refuses a CA file that uid, not the process (me), owns.
func checkCAOwner(path string, uid, me int, kind caFileKind) error {
	if uid == me {
		return nil
	}
	what := map[caFileKind]string{caFolder: "CA folder", caCert: "CA certificate", caKey: "CA key"}[kind]
	return fmt.Errorf("refusing the %s %s: it is owned by uid %d, you are uid %d: remove it, or use --ca-dir to keep the CA in a folder of yours",
		what, path, uid, me)
}

// shellQuote quotes path for a POSIX shell when it needs it, so that the commands the errors
// suggest can be pasted (macOS's configuration folder is "Application Support").
func shellQuote(path string) string {
	if path != "" && strings.Trim(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+:@,%=") == "" {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// ServerCertificate issues a certificate for hosts (DNS names or IP addresses), chained to the
// CA and valid for a year from now, or until the CA expires if that comes first. It lives in
// memory: a new one is issued at each start. Hosts the CA's name constraints do not permit
// are refused, since no client would accept the certificate.
func (ca *CA) ServerCertificate(hosts []string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	notBefore, notAfter := now.Add(-time.Hour), now.AddDate(leafLifeYears, 0, 0)
	if notBefore.Before(ca.Cert.NotBefore) {
		notBefore = ca.Cert.NotBefore
	}
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "idvmock", Organization: []string{"idvmock"}},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return tls.Certificate{}, fmt.Errorf("the CA in %s cannot sign a certificate clients accept (%w): remove %s to create a new CA, then have clients trust the new %s",
			ca.Dir, err, shellQuote(ca.Dir), CACertFile)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

// CertificateHosts are the names the mock's certificate covers: the vendor's hostnames (from
// openapi.yaml's servers) and this machine's loopback names.
func CertificateHosts() ([]string, error) {
	regions, err := idvmock.LoadRegions()
	if err != nil {
		return nil, err
	}
	return append(regions.Hosts(), "localhost", "127.0.0.1", "::1"), nil
}

// TLSConfig is the server side of the mock's HTTPS with cert: TLS 1.2 or later, HTTP/1.1.
func TLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n
}
