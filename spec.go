// Package idvmock holds openapi.yaml, the document that drives the mock server, its
// scenarios and the contract suite.
package idvmock

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// Tags of idvmock's own endpoints in openapi.yaml; the other operations are the vendor's.
const (
	AdminTag = "idvmock-admin" // the admin API under /__admin/
	H5Tag    = "idvmock-h5"    // the H5 pages that stand in for the vendor's
)

// IsVendorOperation reports whether op is one of the vendor's operations, not idvmock's own.
func IsVendorOperation(op *openapi3.Operation) bool {
	return !slices.Contains(op.Tags, AdminTag) && !slices.Contains(op.Tags, H5Tag)
}

// OpenAPI is openapi.yaml as shipped in the binary.
//
//go:embed openapi.yaml
var OpenAPI []byte

// LoadSpec parses and validates openapi.yaml. Each call returns a new document, so callers
// may change theirs (clear its servers, say) without touching anyone else's. It costs a parse
// and a validation each time: what only reads the document takes Spec's.
func LoadSpec() (*openapi3.T, error) { return loadSpec(OpenAPI) }

func loadSpec(data []byte) (*openapi3.T, error) {
	doc, err := parseSpec(data)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	return doc, nil
}

func parseSpec(data []byte) (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return doc, nil
}

// Spec is openapi.yaml as shipped in the binary, made once per process and shared by every
// caller (each mock server, the scenario linter, the engine): nobody may change it. It is
// not validated again at run time: the embedded document is validated, examples included, by
// TestSpecIsValidWithExamplesChecked, so one that would not validate does not ship. Nor is
// it parsed: spec_snapshot.go, generated from openapi.yaml by a test, builds the document the
// loader makes of it (TestSpecSnapshotBuildsTheParsedDocument), in a fraction of a parse's
// time. Should the snapshot be stale (openapi.yaml changed since; a test says so), Spec
// parses openapi.yaml. A caller that needs a document of its own to change takes LoadSpec's.
var Spec = sync.OnceValues(func() (*openapi3.T, error) {
	if snapshotCurrent(OpenAPI) {
		return specSnapshot(), nil
	}
	return parseSpec(OpenAPI)
})

// snapshotCurrent reports whether spec_snapshot.go was generated from data.
func snapshotCurrent(data []byte) bool {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]) == snapshotSum
}

// snapSet sets the entries of a map-like object of the snapshot (Paths, Responses).
func snapSet[V any, M interface{ Set(string, V) }](m M, keys []string, values []V) M {
	for i, k := range keys {
		m.Set(k, values[i])
	}
	return m
}

// snapPtr is a pointer to v, for the snapshot's optional numbers and booleans.
func snapPtr[T any](v T) *T { return &v }

// Facts are what the scenario format and the engine read of the embedded openapi.yaml: its
// regions, the vendor's operations, the schema of the Get Result object, and that of a Get
// Profile document (which a scenario's customerProfile gives as it is answered).
type Facts struct {
	Regions      *Regions
	Operations   []string // the vendor's operationIds, sorted
	GetResult    *openapi3.Schema
	DocumentInfo *openapi3.Schema
}

// Operation reports whether id is one of the vendor's operations.
func (f *Facts) Operation(id string) bool { return slices.Contains(f.Operations, id) }

// SpecFacts reads the embedded openapi.yaml once (Spec). It is validated by tests, so a
// failure is a broken build: it panics.
var SpecFacts = sync.OnceValue(func() *Facts {
	doc, err := Spec()
	if err != nil {
		panic(err)
	}
	regions, err := LoadRegions()
	if err != nil {
		panic(err)
	}
	f := &Facts{Regions: regions, GetResult: doc.Components.Schemas["GetResult"].Value,
		DocumentInfo: doc.Components.Schemas["DocumentInfo"].Value}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if IsVendorOperation(op) && op.OperationID != "" {
				f.Operations = append(f.Operations, op.OperationID)
			}
		}
	}
	slices.Sort(f.Operations)
	return f
})
