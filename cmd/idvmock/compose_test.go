package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/idvmock/idvmock"
)

// examples/compose/compose.yaml gives the mock every vendor hostname as an alias, HTTPS on
// 443 and its CA on a volume the client trusts: what scripts/docker-smoke.sh runs in CI with
// docker network create and --network-alias.
func TestComposeExampleMatchesTheVendorHosts(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "compose", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Command     []string
			Volumes     []string
			Environment map[string]string
			Networks    yaml.Node
		}
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatal(err)
	}
	mock, client := compose.Services["mock"], compose.Services["client"]
	var networks map[string]struct{ Aliases []string }
	if err := mock.Networks.Decode(&networks); err != nil {
		t.Fatal(err)
	}
	doc, err := idvmock.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	regions, err := idvmock.RegionsFromSpec(doc)
	if err != nil {
		t.Fatal(err)
	}
	if got := networks["vendor"].Aliases; !slices.Equal(got, regions.Hosts()) {
		t.Errorf("aliases %v, want the vendor's hosts %v", got, regions.Hosts())
	}
	if !slices.Equal(mock.Command, []string{"serve", "--tls-addr", ":443"}) || !slices.Contains(mock.Volumes, "ca:/ca") {
		t.Errorf("mock: command %v, volumes %v", mock.Command, mock.Volumes)
	}
	if client.Environment["SSL_CERT_FILE"] != "/ca/ca.pem" || !slices.Contains(client.Volumes, "ca:/ca:ro") {
		t.Errorf("client: environment %v, volumes %v", client.Environment, client.Volumes)
	}
}
