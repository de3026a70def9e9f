// Command baseline is the static ceiling idvmock's throughput is measured against: a bare
// net/http handler that writes fixed bytes (the answer idvmock gives, saved by
// scripts/bench.sh), with no routing, validation, model or logging.
package main

import (
	"flag"
	"log"
	"net/http"
	"os"
	"strconv"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "address to listen on")
	bodyFile := flag.String("body", "", "file whose bytes every answer carries (required)")
	flag.Parse()
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		log.Fatalf("baseline: --body: %v", err)
	}
	length := strconv.Itoa(len(body))
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", length)
		_, _ = w.Write(body)
	})))
}
