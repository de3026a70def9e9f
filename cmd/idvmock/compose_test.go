package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
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

// examples/replicas: three replicas on one Redis behind a balancer. The mock's command and
// environment are flags serve takes, its store is the compose file's Redis, and a compose
// tool, where there is one, accepts the file.
func TestReplicasExampleIsAValidDeployment(t *testing.T) {
	path := filepath.Join("..", "..", "examples", "replicas", "compose.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image       string
			Command     []string
			Environment map[string]string
			Deploy      struct{ Replicas int }
			Healthcheck struct{ Test []string }
		}
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatal(err)
	}
	mock, redis := compose.Services["mock"], compose.Services["redis"]
	if redis.Image == "" || mock.Deploy.Replicas < 2 || !slices.Equal(mock.Healthcheck.Test, []string{"CMD", "/idvmock", "health"}) {
		t.Errorf("redis image %q, mock replicas %d, mock health check %v", redis.Image, mock.Deploy.Replicas, mock.Healthcheck.Test)
	}
	if len(mock.Command) == 0 || mock.Command[0] != "serve" {
		t.Fatalf("mock command %v", mock.Command)
	}
	args := mock.Command[1:]
	for name, value := range mock.Environment { // IDVMOCK_<FLAG>: each must be a flag of serve
		flag := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "IDVMOCK_"), "_", "-"))
		if name == "IDVMOCK_ADMIN_TOKEN" {
			value = "example-token" // ${...:?} in the file: compose fills it
		}
		args = append(args, "--"+flag, value)
	}
	s, err := (&serveCmd{stdout: io.Discard}).settings(args)
	if err != nil {
		t.Fatalf("serve %v: %v", args, err)
	}
	if *s.store != "redis://redis:6379/0" {
		t.Errorf("--store %q, want the compose file's redis service", *s.store)
	}
	conf, err := os.ReadFile(filepath.Join("..", "..", "examples", "replicas", "nginx.conf"))
	if err != nil || !strings.Contains(string(conf), "server mock:8080") || !strings.Contains(string(conf), "proxy_set_header Host $http_host") {
		t.Errorf("nginx.conf must balance over mock:8080 and keep the Host header (it picks the region): %v", err)
	}
	for _, tool := range [][]string{{"docker", "compose"}, {"docker-compose"}} {
		bin, err := exec.LookPath(tool[0])
		if err != nil {
			continue
		}
		cmd := exec.Command(bin, append(tool[1:], "-f", path, "config", "-q")...)
		cmd.Env = append(os.Environ(), "IDVMOCK_ADMIN_TOKEN=example-token")
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Logf("%v accepts %s", tool, path)
			return
		} else if strings.Contains(string(out), "unknown") || strings.Contains(string(out), "is not a docker command") {
			continue // docker without its compose plugin
		} else {
			t.Errorf("%v refuses %s: %v\n%s", tool, path, err, out)
			return
		}
	}
	t.Log("no compose tool here: the file was checked as YAML and against serve's flags only")
}
