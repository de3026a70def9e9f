// Command validating is the memory floor idvmock's peak RSS is read against: the least a
// server can do and still be what idvmock must be, a net/http handler that checks every
// request against openapi.yaml with kin-openapi (its router finds the operation, openapi3filter
// validates the parameters) and then writes fixed bytes (the answer idvmock gives, saved by
// scripts/bench.sh). It has no scenarios, engine, journal, log, dashboard or echo, and links
// nothing else; what idvmock uses beyond it is what those cost.
//
//	validating --addr 127.0.0.1:8090 --body answer.json --spec openapi.yaml
//
// The spec's servers are the vendor's hosts; the floor serves them on --addr instead, so a
// request to http://ADDR/PATH finds its operation as one to https://api.advance.ai/PATH would.
// Security requirements are met by any value (idvmock checks its tokens; the floor has none).
// A request the spec refuses gets a 400 with kin-openapi's message.
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"os"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "address to listen on")
	bodyFile := flag.String("body", "", "file whose bytes every valid request is answered with (required)")
	specFile := flag.String("spec", "openapi.yaml", "the OpenAPI document requests are checked against")
	flag.Parse()
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		log.Fatalf("validating: --body: %v", err)
	}
	doc, err := openapi3.NewLoader().LoadFromFile(*specFile)
	if err != nil {
		log.Fatalf("validating: --spec: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: "http://" + *addr}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		log.Fatalf("validating: %s: %v", *specFile, err)
	}
	options := &openapi3filter.Options{
		AuthenticationFunc: func(context.Context, *openapi3filter.AuthenticationInput) error { return nil },
	}
	length := strconv.Itoa(len(body))
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route, params, err := router.FindRoute(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		input := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: options}
		if err := openapi3filter.ValidateRequest(r.Context(), input); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", length)
		_, _ = w.Write(body)
	})))
}
