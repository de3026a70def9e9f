package mockserver

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Region is one of the vendor's regional deployments.
type Region struct {
	Name    string // short name: global, sg, ph, th, my, vn
	Label   string // first DNS label of its host: api, sg-api, ...
	Country string // ISO 3166 alpha-3 given to sessions that declare no region
}

// regions maps Host headers to regions. It is built from the servers of openapi.yaml, whose
// x-idvmock-region and x-idvmock-country extensions name each region and its country.
type regions struct {
	byLabel map[string]Region
	global  Region
}

func regionsFromSpec(doc *openapi3.T) (regions, error) {
	rs := regions{byLabel: map[string]Region{}}
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
		r := Region{Name: name, Label: firstLabel(u.Host), Country: country}
		rs.byLabel[r.Label] = r
		if name == "global" {
			rs.global = r
		}
	}
	if rs.global.Name == "" {
		return rs, fmt.Errorf("openapi.yaml: no server has x-idvmock-region: global")
	}
	return rs, nil
}

// forHost picks the region from the first DNS label of host, whatever the rest of the name
// and the port: sg-api.advance.ai, sg-api.localhost:8080 and sg-api.mock.internal are all
// Singapore. Any other host is global.
func (rs regions) forHost(host string) Region {
	if r, ok := rs.byLabel[firstLabel(host)]; ok {
		return r
	}
	return rs.global
}

func firstLabel(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	label, _, _ := strings.Cut(host, ".")
	return strings.ToLower(label)
}
