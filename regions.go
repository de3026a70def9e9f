package idvmock

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// Region is one of the vendor's regional deployments.
type Region struct {
	Name    string // short name: global, sg, ph, th, my, vn
	Label   string // first DNS label of its host: api, sg-api, ...
	Host    string // its host name: api.advance.ai, sg-api.advance.ai, ...
	Country string // ISO 3166 alpha-3 given to sessions that declare no region
}

// Regions maps Host headers to regions. It is built from the servers of openapi.yaml, whose
// x-idvmock-region and x-idvmock-country extensions name each region and its country.
type Regions struct {
	byLabel map[string]Region
	byName  map[string]Region
	global  Region
	names   []string
}

// LoadRegions reads the regions of the openapi.yaml shipped in the binary (Spec), once.
var LoadRegions = sync.OnceValues(func() (*Regions, error) {
	doc, err := Spec()
	if err != nil {
		return nil, err
	}
	return RegionsFromSpec(doc)
})

// RegionsFromSpec reads the regions from the servers of doc.
func RegionsFromSpec(doc *openapi3.T) (*Regions, error) {
	rs := &Regions{byLabel: map[string]Region{}, byName: map[string]Region{}}
	for _, srv := range doc.Servers {
		u, err := url.Parse(srv.URL)
		if err != nil {
			return rs, fmt.Errorf("openapi.yaml: server %q: %w", srv.URL, err)
		}
		name, _ := srv.Extensions["x-idvmock-region"].(string)
		country, _ := srv.Extensions["x-idvmock-country"].(string)
		if name == "" || country == "" {
			return rs, fmt.Errorf("openapi.yaml: server %q needs x-idvmock-region and x-idvmock-country", srv.URL)
		}
		r := Region{Name: name, Label: firstLabel(u.Host), Host: u.Hostname(), Country: country}
		rs.byLabel[r.Label] = r
		rs.byName[r.Name] = r
		rs.names = append(rs.names, r.Name)
		if name == "global" {
			rs.global = r
		}
	}
	if rs.global.Name == "" {
		return rs, fmt.Errorf("openapi.yaml: no server has x-idvmock-region: global")
	}
	return rs, nil
}

// ForHost picks the region from the first DNS label of host, whatever the rest of the name
// and the port: sg-api.advance.ai, sg-api.localhost:8080 and sg-api.mock.internal are all
// Singapore. Any other host is global.
func (rs *Regions) ForHost(host string) Region {
	if r, ok := rs.byLabel[firstLabel(host)]; ok {
		return r
	}
	return rs.global
}

// ByName returns the region called name (global, sg, ...).
func (rs *Regions) ByName(name string) (Region, bool) {
	r, ok := rs.byName[name]
	return r, ok
}

// Hosts lists the vendor's host names, in the order of openapi.yaml's servers.
func (rs *Regions) Hosts() []string {
	hosts := make([]string, 0, len(rs.names))
	for _, n := range rs.names {
		hosts = append(hosts, rs.byName[n].Host)
	}
	return hosts
}

// Names lists the region names in the order of openapi.yaml's servers.
func (rs *Regions) Names() []string { return append([]string(nil), rs.names...) }

func firstLabel(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	label, _, _ := strings.Cut(host, ".")
	return strings.ToLower(label)
}
