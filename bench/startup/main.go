// Command startup measures how long a server takes from its start to its first successful
// answer: it starts the command, polls URL every millisecond, prints the milliseconds, and
// stops the server. With -log FILE the server's stdout and stderr (where idvmock logs) are
// appended to FILE, as in production; without it they are discarded.
//
//	startup [-H 'Name: value'] [-log FILE] URL -- command args...
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
	logFile := flag.String("log", "", "append the server's stdout and stderr to this `file`")
	flag.Parse()
	args := flag.Args()
	if len(args) < 3 || args[1] != "--" {
		fmt.Fprintln(os.Stderr, "usage: startup [-H 'Name: value'] [-log FILE] URL -- command args...")
		os.Exit(2)
	}
	url, command := args[0], args[2:]
	client := &http.Client{Timeout: 200 * time.Millisecond}
	cmd := exec.Command(command[0], command[1:]...)
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, "startup:", err)
			os.Exit(1)
		}
		defer f.Close()
		cmd.Stdout, cmd.Stderr = f, f
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "startup:", err)
		os.Exit(1)
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	defer stop()
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
	stop() // os.Exit runs no deferred calls: the server must not outlive us
	os.Exit(1)
}
