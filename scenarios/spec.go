package scenarios

import (
	"sort"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/idvmock/idvmock"
)

// specFacts is what scenario checks need from openapi.yaml: the regions, the vendor's
// operations, and the schema of the Get Result object.
type specFacts struct {
	regions    *idvmock.Regions
	operations map[string]bool
	result     *openapi3.Schema
}

var (
	specOnce  sync.Once
	specCache specFacts
)

// specInfo reads openapi.yaml once. The document is embedded and validated by tests, so a
// failure here is a broken build.
func specInfo() specFacts {
	specOnce.Do(func() {
		doc, err := idvmock.LoadSpec()
		if err != nil {
			panic(err)
		}
		regions, err := idvmock.RegionsFromSpec(doc)
		if err != nil {
			panic(err)
		}
		specCache = specFacts{regions: regions, operations: map[string]bool{}, result: doc.Components.Schemas["GetResult"].Value}
		for _, item := range doc.Paths.Map() {
			for _, op := range item.Operations() {
				if idvmock.IsVendorOperation(op) && op.OperationID != "" {
					specCache.operations[op.OperationID] = true
				}
			}
		}
	})
	return specCache
}

func (f specFacts) operationNames() []string {
	names := make([]string, 0, len(f.operations))
	for n := range f.operations {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
