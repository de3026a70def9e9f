package idvmock

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/idvmock/idvmock/webhook"
)

// openapi.yaml describes the webhook under x-webhooks, keyed by OpSessionCompleted, with the
// webhook package's three headers and named examples that conform to CompletionDelivery
// (kin-openapi does not read x-webhooks: this test checks it). The plain callback on Generate
// URL uses the same body, whose examples the loader checks.
func TestSpecDescribesTheWebhook(t *testing.T) {
	doc, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(doc.Extensions["x-webhooks"])
	if err != nil {
		t.Fatal(err)
	}
	var hooks map[string]struct {
		Post struct {
			Parameters []struct {
				Name, In string
				Required bool
			}
			RequestBody struct {
				Content map[string]struct {
					Examples map[string]struct{ Value any }
				}
			}
		}
	}
	if err := json.Unmarshal(raw, &hooks); err != nil {
		t.Fatal(err)
	}
	hook, ok := hooks[OpSessionCompleted]
	if !ok {
		t.Fatalf("x-webhooks has no %s: %s", OpSessionCompleted, raw)
	}
	var headers []string
	for _, p := range hook.Post.Parameters {
		if p.In == "header" && p.Required {
			headers = append(headers, p.Name)
		}
	}
	if want := []string{webhook.HeaderTimestamp, webhook.HeaderNonce, webhook.HeaderSignature}; !slices.Equal(headers, want) {
		t.Errorf("the webhook's required headers are %v, want %v", headers, want)
	}
	body := doc.Components.Schemas["CompletionDelivery"].Value
	examples := hook.Post.RequestBody.Content["application/json"].Examples
	var types []string
	for name, ex := range examples {
		if err := body.VisitJSON(ex.Value); err != nil {
			t.Errorf("example %s: %v", name, err)
		}
		types = append(types, ex.Value.(map[string]any)["type"].(string))
	}
	slices.Sort(types)
	if want := []string{DeliveryCompleted, DeliverySubmitCompleted}; !slices.Equal(types, want) || !slices.Equal(enumOf(body.Properties["type"].Value.Enum), want) {
		t.Errorf("example types %v, enum %v; want %v", types, body.Properties["type"].Value.Enum, want)
	}
	if err := body.VisitJSON(map[string]any{"signatureId": "s", "type": "DONE"}); err == nil {
		t.Error("CompletionDelivery accepts type DONE")
	}
	cb := doc.Paths.Find(PathGenerateURL).Post.Callbacks["completion"]
	if cb == nil || cb.Value.Value("{$request.body#/callbackUrl}") == nil {
		t.Fatal("Generate URL describes no callback to callbackUrl")
	}
	broken := bytes.Replace(OpenAPI, []byte("value: {signatureId: 6c2f0a9e41b7, type: SUBMIT_COMPLETED}\n              responses:"),
		[]byte("value: {signatureId: 6c2f0a9e41b7, type: SUBMITTED}\n              responses:"), 1)
	if bytes.Equal(broken, OpenAPI) {
		t.Fatal("the callback's SUBMIT_COMPLETED example was not found")
	}
	if _, err := loadSpec(broken); err == nil || !strings.Contains(err.Error(), "SUBMITTED") {
		t.Errorf("a callback example of type SUBMITTED was accepted: %v", err)
	}
}

func enumOf(values []any) []string {
	var out []string
	for _, v := range values {
		out = append(out, v.(string))
	}
	slices.Sort(out)
	return out
}
