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
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/idvmock/idvmock"
)

// Files of a CA folder.
const (
	CACertFile = "ca.pem"     // the CA certificate: what clients trust
	CAKeyFile  = "ca-key.pem" // its private key, mode 0600
)

// CA is the local certificate authority that signs the mock's HTTPS certificate, so that
// clients reach https://sg-api.advance.ai (resolved to the mock) trusting one file.
type CA struct {
	Dir  string
	Cert *x509.Certificate
	PEM  []byte // Cert, PEM-encoded: the content of Dir/ca.pem
	key  *ecdsa.PrivateKey
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

// LoadOrCreateCA loads the CA kept in dir, or creates one there (the folder 0700, the key
// 0600). created says which.
func LoadOrCreateCA(dir string) (ca *CA, created bool, err error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
		ca, err := parseCA(dir, certPEM, keyPEM)
		return ca, false, err
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
	case certErr == nil || keyErr == nil:
		return nil, false, fmt.Errorf("%s holds only one of %s and %s: remove it to create a new CA, or restore the other file", dir, CACertFile, CAKeyFile)
	default:
		return nil, false, fmt.Errorf("reading the CA in %s: %w", dir, errors.Join(certErr, keyErr))
	}
	ca, err = newCA(dir)
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("creating the CA folder: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, false, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(ca.key)
	if err != nil {
		return nil, false, err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, false, fmt.Errorf("writing the CA key: %w", err)
	}
	if err := os.WriteFile(certPath, ca.PEM, 0o644); err != nil {
		return nil, false, fmt.Errorf("writing the CA certificate: %w", err)
	}
	return ca, true, nil
}

func newCA(dir string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "idvmock local CA (" + host + ")", Organization: []string{"idvmock"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
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

// ServerCertificate issues a certificate for hosts (DNS names or IP addresses), valid for a
// year from now and chained to the CA. It lives in memory: a new one is issued at each start.
func (ca *CA) ServerCertificate(hosts []string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "idvmock", Organization: []string{"idvmock"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
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
	return tls.Certificate{Certificate: [][]byte{der, ca.Cert.Raw}, PrivateKey: key}, nil
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
