//go:build floor

package main

// Built with -tags floor, the baseline links the libraries idvmock cannot serve without and
// so runs their package init before main, as idvmock does: kin-openapi (its JSON Schema
// library compiles the meta-schemas of every draft in its init), gofakeit (its data tables)
// and echo. Its start to first answer is the floor idvmock's start is measured against; it
// answers as the bare baseline does.
import (
	_ "github.com/brianvoe/gofakeit/v6"
	_ "github.com/getkin/kin-openapi/openapi3filter"
	_ "github.com/labstack/echo/v4"
)
