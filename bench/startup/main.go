// Command startup measures how long a server takes from its start to its first successful
// answer: it starts the command, polls URL every millisecond, prints the milliseconds, and
// stops the server.
//
//	startup [-H 'Name: value'] URL -- command args...
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	var hs headers
	flag.Var(&hs, "H", "header to send, 'Name: value' (repeatable)")
	timeout := flag.Duration("timeout", 10*time.Second, "give up after this long")
	flag.Parse()
	args := flag.Args()
	if len(args) < 3 || args[1] != "--" {
		fmt.Fprintln(os.Stderr, "usage: startup [-H 'Name: value'] URL -- command args...")
		os.Exit(2)
	}
	url, command := args[0], args[2:]
	client := &http.Client{Timeout: 200 * time.Millisecond}
	cmd := exec.Command(command[0], command[1:]...)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "startup:", err)
		os.Exit(1)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for time.Since(start) < *timeout {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		for _, h := range hs {
			name, value, _ := strings.Cut(h, ":")
			req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				fmt.Printf("%.1f\n", float64(time.Since(start).Microseconds())/1000)
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	fmt.Fprintln(os.Stderr, "startup: no successful answer within", *timeout)
	os.Exit(1)
}
