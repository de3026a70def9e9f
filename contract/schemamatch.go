package contract

import (
	"encoding/json"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/getkin/kin-openapi/openapi3"
)

// A conforming answer is told from a broken one without kin-openapi's per-call costs (it
// sorts the keys of every object, visits the branch a discriminator picks twice and copies
// the body for it). A matcher, prepared once per schema, says whether a scanned value (a
// jsonTree, read as its decoded value would be) conforms, does not, or that it cannot tell;
// only "conforms" is taken: anything else is decoded and visited by kin-openapi as before,
// which finds the errors and words them. A matcher therefore follows kin-openapi's OpenAPI
// 3.0 visit (openapi3.Schema.VisitJSON with VisitAsResponse) keyword by keyword: formats
// with the validators of kin-openapi's registry, read at each visit as kin-openapi reads
// them; patterns compiled once as kin-openapi compiles them; multipleOf and exclusive
// bounds, which depend on its arithmetic, by its public per-type visits. A schema with a
// keyword it does not follow (writeOnly, uniqueItems, prefixItems, 3.1's boolean schemas,
// unresolved references, a oneOf/anyOf/allOf/not cycle on one value, enum values that are
// not scalars) gets a matcher that never tells.

// verdict is what a matcher says of a value.
type verdict uint8

const (
	conforms verdict = iota
	breaks
	unknown // kin-openapi decides
)

// and combines the verdicts of keywords that must all hold.
func (v verdict) and(w verdict) verdict { return max(v, w) }

type matcher struct {
	schema  *openapi3.Schema
	unsure  bool // the schema uses a keyword the matcher does not follow
	empty   bool // schema.IsEmpty()
	nullOK  bool // nullable, or a type list with null
	types   typeSet
	not     *matcher
	oneOf   []*matcher
	anyOf   []*matcher
	allOf   []*matcher
	disc    *discriminator // of oneOf or anyOf
	enum    []enumValue
	format  string
	strKin  bool           // a pattern Go cannot compile: kin-openapi visits the string
	pattern *regexp.Regexp // compiled as kin-openapi compiles it
	minLen  uint64
	maxLen  *uint64
	numKin  bool // multipleOf or an exclusive bound: kin-openapi visits the number
	min     *float64
	max     *float64
	minItem uint64
	maxItem *uint64
	items   *matcher
	minProp uint64
	maxProp *uint64
	// The declared properties, in the order of propList; required, the indexes of the
	// required ones that are declared; requireOther, the names of the others.
	propIndex    map[string]int
	propList     []*matcher
	addlOK       bool     // additionalProperties absent or true
	addl         *matcher // additionalProperties' schema
	required     []int
	requireOther []string
}

type typeSet struct{ boolean, integer, number, str, array, object bool }

// discriminator is a oneOf's or anyOf's discriminator, resolved: for each mapped value, the
// indexes of the branches whose $ref it names.
type discriminator struct {
	property string
	mapped   bool             // the mapping is not empty
	branches map[string][]int // discriminator value -> branch indexes
}

// enumValue is one scalar of an enum: a string, a bool, null, or a number.
type enumValue struct {
	kind byte // 's', 'b', '0' (null), 'n'
	s    string
	b    bool
	n    float64
}

// matcherSet prepares the matchers of a document's schemas, each once.
type matcherSet struct {
	bySchema map[*openapi3.Schema]*matcher
}

func newMatcherSet() *matcherSet {
	return &matcherSet{bySchema: map[*openapi3.Schema]*matcher{}}
}

// prepare returns the matcher of ref's schema.
func (ms *matcherSet) prepare(ref *openapi3.SchemaRef) *matcher {
	if ref == nil || ref.Value == nil {
		return &matcher{unsure: true}
	}
	s := ref.Value
	if m := ms.bySchema[s]; m != nil {
		return m
	}
	m := &matcher{schema: s}
	ms.bySchema[s] = m

	m.unsure = s.Always != nil || s.WriteOnly || s.UniqueItems || len(s.PrefixItems) > 0
	m.empty = s.IsEmpty()
	m.nullOK = s.Nullable || s.Type.IncludesNull()
	m.types = typeSet{s.Type.Permits(openapi3.TypeBoolean), s.Type.Permits(openapi3.TypeInteger), s.Type.Permits(openapi3.TypeNumber),
		s.Type.Permits(openapi3.TypeString), s.Type.Permits(openapi3.TypeArray), s.Type.Permits(openapi3.TypeObject)}
	if s.Not != nil {
		m.not = ms.prepare(s.Not)
	}
	for _, r := range s.OneOf {
		m.oneOf = append(m.oneOf, ms.prepare(r))
	}
	for _, r := range s.AnyOf {
		m.anyOf = append(m.anyOf, ms.prepare(r))
	}
	for _, r := range s.AllOf {
		m.allOf = append(m.allOf, ms.prepare(r))
	}
	if d := s.Discriminator; d != nil && (len(s.OneOf) > 0 || len(s.AnyOf) > 0) {
		if len(s.OneOf) > 0 && len(s.AnyOf) > 0 {
			m.unsure = true // each resolves it for its own branches: not followed
		}
		branches := s.OneOf
		if len(branches) == 0 {
			branches = s.AnyOf
		}
		m.disc = &discriminator{property: d.PropertyName, mapped: len(d.Mapping) > 0, branches: map[string][]int{}}
		for value, mr := range d.Mapping {
			ref := mr.Ref
			if ref != "" && !strings.Contains(ref, "/") {
				ref = "#/components/schemas/" + ref // a plain schema name
			}
			idx := []int{}
			for i, b := range branches {
				if ref == "" || b.Ref == ref {
					idx = append(idx, i)
				}
			}
			m.disc.branches[value] = idx
		}
	}
	for _, v := range s.Enum {
		switch x := v.(type) {
		case string:
			m.enum = append(m.enum, enumValue{kind: 's', s: x})
		case bool:
			m.enum = append(m.enum, enumValue{kind: 'b', b: x})
		case nil:
			m.enum = append(m.enum, enumValue{kind: '0'})
		default:
			if f, ok := enumNumber(v); ok {
				m.enum = append(m.enum, enumValue{kind: 'n', n: f})
			} else {
				m.unsure = true
			}
		}
	}
	m.format = s.Format
	if s.Pattern != "" {
		if re, err := regexp.Compile(kinPattern(s.Pattern)); err == nil {
			m.pattern = re
		} else {
			m.strKin = true
		}
	}
	m.minLen, m.maxLen = s.MinLength, s.MaxLength
	m.numKin = s.MultipleOf != nil || s.ExclusiveMin.IsSet() || s.ExclusiveMax.IsSet()
	m.min, m.max = s.Min, s.Max
	m.minItem, m.maxItem = s.MinItems, s.MaxItems
	if s.Items != nil {
		m.items = ms.prepare(s.Items)
	}
	m.minProp, m.maxProp = s.MinProps, s.MaxProps
	m.propIndex = make(map[string]int, len(s.Properties))
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		m.propIndex[name] = len(m.propList)
		m.propList = append(m.propList, ms.prepare(s.Properties[name]))
	}
	m.addlOK = s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has
	if r := s.AdditionalProperties.Schema; r != nil {
		m.addl = ms.prepare(r)
	}
	for _, name := range s.Required {
		if p, ok := m.propIndex[name]; ok {
			m.required = append(m.required, p)
		} else {
			m.requireOther = append(m.requireOther, name)
		}
	}
	return m
}

// kinCodepoints and kinPattern are kin-openapi's rewriting of a pattern's \uXXXX escapes
// for Go's regexp (its intoGoRegexp), before it compiles the pattern with regexp.Compile
// and keeps it in its cache: the regexp kin-openapi's visits use, unless a program gives
// kin-openapi a RegexCompilerFunc of its own for the same pattern (idvmock does not).
var kinCodepoints = regexp.MustCompile(`(?P<replaced_with_slash_x>\\u)(?P<code>[0-9A-F]{4})`)

func kinPattern(pattern string) string {
	return kinCodepoints.ReplaceAllString(pattern, `\x{${code}}`)
}

// distrustCycles makes every matcher unsure when a schema reaches itself through oneOf,
// anyOf, allOf or not: kin-openapi would visit it twice on one value, and its cycle detection
// answers the second visit, which matchers do not follow. (Reaching itself through a
// property or items is a recursive structure, visited one level of the value at a time.)
func (ms *matcherSet) distrustCycles() {
	const (
		onPath = 1
		done   = 2
	)
	state := map[*matcher]int{}
	cycle := false
	var walk func(m *matcher)
	walk = func(m *matcher) {
		switch state[m] {
		case onPath:
			cycle = true
			return
		case done:
			return
		}
		state[m] = onPath
		for _, subs := range [][]*matcher{m.oneOf, m.anyOf, m.allOf, {m.not}} {
			for _, sub := range subs {
				if sub != nil {
					walk(sub)
				}
			}
		}
		state[m] = done
	}
	for _, m := range ms.bySchema {
		walk(m)
	}
	if cycle {
		for _, m := range ms.bySchema {
			m.unsure = true
		}
	}
}

// enumNumber is kin-openapi's reading of a number in an enum or a value.
func enumNumber(v any) (float64, bool) {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case int:
		return float64(v), true
	case int8:
		return float64(v), true
	case int16:
		return float64(v), true
	case int32:
		return float64(v), true
	case int64:
		return float64(v), true
	case uint:
		return float64(v), true
	case uint8:
		return float64(v), true
	case uint16:
		return float64(v), true
	case uint32:
		return float64(v), true
	case uint64:
		return float64(v), true
	}
	return 0, false
}

// match says whether the value at node i of t conforms to m's schema, as kin-openapi's
// visit of the decoded value would.
func (m *matcher) match(t *jsonTree, i int) verdict {
	if m.unsure {
		return unknown
	}
	kind := t.nodes[i].kind
	if kind == 'n' && m.nullOK {
		return conforms
	}
	if m.empty {
		if kind == 'n' {
			return breaks // null, and the schema is not nullable
		}
		return conforms
	}
	if m.not != nil {
		switch m.not.match(t, i) {
		case conforms:
			return breaks
		case unknown:
			return unknown
		}
	}
	result := conforms
	visitedXOf := false
	if len(m.oneOf) > 0 {
		v := m.matchOneOf(t, i)
		if v != conforms {
			return v
		}
		visitedXOf = true
	}
	if len(m.anyOf) > 0 {
		v := m.matchAnyOf(t, i)
		if v != conforms {
			return v
		}
		visitedXOf = true
	}
	for _, sub := range m.allOf {
		result = result.and(sub.match(t, i))
		visitedXOf = true
	}
	if result != conforms {
		return result
	}
	if visitedXOf && kind == 'n' {
		return conforms
	}
	if len(m.enum) > 0 && !m.inEnum(t, i) {
		return breaks
	}
	switch kind {
	case 'n':
		return breaks
	case 't', 'f':
		return when(m.types.boolean)
	case '0':
		f, err := strconv.ParseFloat(t.text[t.nodes[i].start:t.nodes[i].end], 64)
		if err != nil {
			return breaks
		}
		return m.matchNumber(f)
	case '"':
		return m.matchString(t.str(i))
	case '[':
		return m.matchArray(t, i)
	}
	return m.matchObject(t, i)
}

func when(ok bool) verdict {
	if ok {
		return conforms
	}
	return breaks
}

// candidates are the branches a discriminator leaves, or all when there is none; bad when
// the discriminator itself refuses the value.
func (m *matcher) candidates(t *jsonTree, i int) (idx []int, all, bad bool) {
	if m.disc == nil || t.nodes[i].kind != '{' {
		return nil, true, false
	}
	at, ok := t.member(i, m.disc.property)
	if !ok || t.nodes[at].kind != '"' {
		return nil, false, true
	}
	idx, ok = m.disc.branches[t.str(at)]
	if !ok {
		if m.disc.mapped {
			return nil, false, true
		}
		return nil, true, false // no mapping: every branch
	}
	return idx, false, false
}

func (m *matcher) matchOneOf(t *jsonTree, i int) verdict {
	idx, all, bad := m.candidates(t, i)
	if bad {
		return breaks
	}
	matched, undecided := 0, false
	try := func(b *matcher) {
		switch b.match(t, i) {
		case conforms:
			matched++
		case unknown:
			undecided = true
		}
	}
	if all {
		for _, b := range m.oneOf {
			try(b)
		}
	} else {
		for _, k := range idx {
			try(m.oneOf[k])
		}
	}
	switch {
	case undecided:
		return unknown
	case matched == 1:
		return conforms
	}
	return breaks
}

func (m *matcher) matchAnyOf(t *jsonTree, i int) verdict {
	idx, all, bad := m.candidates(t, i)
	if bad {
		return breaks
	}
	result := breaks
	try := func(b *matcher) bool {
		switch b.match(t, i) {
		case conforms:
			result = conforms
			return true
		case unknown:
			result = unknown
		}
		return false
	}
	if all {
		for _, b := range m.anyOf {
			if try(b) {
				break
			}
		}
	} else {
		for _, k := range idx {
			if try(m.anyOf[k]) {
				break
			}
		}
	}
	return result
}

func (m *matcher) inEnum(t *jsonTree, i int) bool {
	kind := t.nodes[i].kind
	for _, e := range m.enum {
		switch e.kind {
		case 's':
			if kind == '"' && t.isString(i, e.s) {
				return true
			}
		case 'b':
			if (kind == 't' || kind == 'f') && (kind == 't') == e.b {
				return true
			}
		case '0':
			if kind == 'n' {
				return true
			}
		case 'n':
			if kind != '0' {
				continue
			}
			// json.Number's Float64, as kin-openapi reads a number
			if f, err := strconv.ParseFloat(t.text[t.nodes[i].start:t.nodes[i].end], 64); err == nil && f == e.n {
				return true
			}
		}
	}
	return false
}

func (m *matcher) matchNumber(f float64) verdict {
	requireInteger := m.types.integer && !m.types.number
	if !requireInteger && !m.types.integer && !m.types.number {
		return breaks
	}
	if m.numKin {
		return when(m.schema.VisitJSONNumber(f) == nil)
	}
	if requireInteger && math.Trunc(f) != f {
		return breaks
	}
	if m.format != "" && !numberFormatOK(m.format, requireInteger, f) {
		return breaks
	}
	if m.min != nil && !(*m.min <= f) {
		return breaks
	}
	if m.max != nil && !(*m.max >= f) {
		return breaks
	}
	return conforms
}

func (m *matcher) matchString(s string) verdict {
	if !m.types.str {
		return breaks
	}
	if m.strKin {
		return when(m.schema.VisitJSONString(s) == nil)
	}
	if m.pattern != nil && !m.pattern.MatchString(s) {
		return breaks
	}
	if m.minLen != 0 || m.maxLen != nil {
		// kin-openapi's length: UTF-16 units, counted over the string's runes.
		n := uint64(0)
		for _, r := range s {
			if utf16.IsSurrogate(r) {
				n += 2
			} else {
				n++
			}
		}
		if m.minLen != 0 && n < m.minLen {
			return breaks
		}
		if m.maxLen != nil && n > *m.maxLen {
			return breaks
		}
	}
	if m.format != "" {
		// kin-openapi's registry, read at each visit as it does; a format it does not know
		// is not checked.
		if f, ok := openapi3.SchemaStringFormats[m.format]; ok && f.Validate(s) != nil {
			return breaks
		}
	}
	return conforms
}

// numberFormatOK checks f against the format's validator in kin-openapi's registry, as its
// visit does: integer formats for a schema of type integer, number formats otherwise.
func numberFormatOK(format string, integer bool, f float64) bool {
	if !integer {
		v, ok := openapi3.SchemaNumberFormats[format]
		return !ok || v.Validate(f) == nil
	}
	v, ok := openapi3.SchemaIntegerFormats[format]
	switch {
	case !ok:
		return true
	case f == float64(math.MaxInt64): // 2^63, which kin-openapi reads as MaxInt64
		return v.Validate(math.MaxInt64) == nil
	case f >= float64(math.MinInt64) && f < float64(math.MaxInt64):
		return v.Validate(int64(f)) == nil
	}
	return false
}

func (m *matcher) matchArray(t *jsonTree, i int) verdict {
	if !m.types.array {
		return breaks
	}
	n := uint64(t.nodes[i].n)
	if m.minItem != 0 && n < m.minItem {
		return breaks
	}
	if m.maxItem != nil && n > *m.maxItem {
		return breaks
	}
	result := conforms
	if m.items != nil {
		for j, k := i+1, 0; k < int(n); k++ {
			result = result.and(m.items.match(t, j))
			if result == breaks {
				return breaks
			}
			j = int(t.nodes[j].next)
		}
	}
	return result
}

// maxMatchedMembers bounds the members of an object a matcher tells about; a larger object is
// left to kin-openapi.
const maxMatchedMembers = 64

// matchObject matches the object at node i as its decoded map would be: a name that comes
// twice counts once, with its last value. An object where that could make a difference (a
// declared property twice; two undeclared ones, when their number or values are checked) is
// left to kin-openapi.
func (m *matcher) matchObject(t *jsonTree, i int) verdict {
	if !m.types.object {
		return breaks
	}
	members := int(t.nodes[i].n)
	if members > maxMatchedMembers || len(m.propList) > 64 {
		return unknown
	}
	// First the names: which declared property each member is (-1: none), each once.
	var which [maxMatchedMembers]int8
	var seen uint64
	extra := 0
	for j, k := i+1, 0; k < members; k++ {
		p, ok := m.propIndex[t.str(j)]
		if !ok {
			which[k] = -1
			extra++
			if !m.addlOK {
				return breaks
			}
		} else {
			if seen&(1<<p) != 0 {
				return unknown // a property twice
			}
			seen |= 1 << p
			which[k] = int8(p)
		}
		j = int(t.nodes[j+1].next)
	}
	if extra > 1 && (m.addl != nil || m.minProp != 0 || m.maxProp != nil) {
		return unknown // undeclared properties, which may come twice
	}
	n := uint64(members)
	if m.minProp != 0 && n < m.minProp {
		return breaks
	}
	if m.maxProp != nil && n > *m.maxProp {
		return breaks
	}
	for _, r := range m.required {
		if seen&(1<<r) == 0 {
			return breaks
		}
	}
	for _, name := range m.requireOther {
		if _, ok := t.member(i, name); !ok {
			return breaks
		}
	}
	result := conforms
	for j, k := i+1, 0; k < members; k++ {
		var r verdict
		if p := which[k]; p >= 0 {
			r = m.propList[p].match(t, j+1)
		} else if m.addl != nil {
			r = m.addl.match(t, j+1)
		}
		result = result.and(r)
		if result == breaks {
			return breaks
		}
		j = int(t.nodes[j+1].next)
	}
	return result
}
