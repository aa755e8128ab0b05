// Package template_test checks template.yaml, the deployable artifact's wiring, against
// the code: every route a function serves is wired to that function and nothing else.
package template_test

import (
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/global"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"

	"github.com/sellchat/sellchat/infra/gateway"
	"github.com/sellchat/sellchat/shared/platform/app"
)

func load(t *testing.T) *cloudformation.Template {
	t.Helper()
	tmpl, err := goformation.Open(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatalf("parse template.yaml: %v", err)
	}
	return tmpl
}

// logicalID names a function's resource: functions/settings → SettingsFunction (the
// Makefile's build-%Function rule relies on the same mapping).
func logicalID(folder string) string {
	return strings.ToUpper(folder[:1]) + folder[1:] + "Function"
}

func TestEveryServedRouteIsWiredToItsFunction(t *testing.T) {
	tmpl := load(t)
	fns := gateway.Functions(&app.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	wired := map[string]string{} // "GET /settings" → logical id
	for id, fn := range tmpl.GetAllServerlessFunctionResources() {
		for name, ev := range fn.Events {
			if ev.Type != "HttpApi" {
				continue
			}
			method, path := httpAPIRoute(t, ev)
			if method == "" || path == "" {
				t.Errorf("%s event %s has no Method/Path", id, name)
				continue
			}
			route := strings.ToUpper(method) + " " + path
			if other, dup := wired[route]; dup {
				t.Errorf("%s is wired to both %s and %s", route, other, id)
			}
			wired[route] = id
		}
	}
	served := map[string]bool{}
	for folder, rt := range fns {
		want := logicalID(folder)
		if _, ok := tmpl.GetAllServerlessFunctionResources()[want]; !ok {
			t.Errorf("functions/%s has no %s resource in template.yaml", folder, want)
			continue
		}
		for _, p := range rt.Patterns() {
			// A Go wildcard for the rest of the path, {name...}, is written {name+}
			// (a greedy path variable) in an HTTP API route.
			p = strings.ReplaceAll(p, "...}", "+}")
			served[p] = true
			if got := wired[p]; got != want {
				t.Errorf("%s is served by %s but wired to %q", p, want, got)
			}
		}
	}
	var extra []string
	for route := range wired {
		if !served[route] {
			extra = append(extra, route)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("template.yaml wires routes no function serves: %v", extra)
	}
}

func TestFunctionsRunOnProvidedAL2023WithLeastPrivilege(t *testing.T) {
	tmpl := load(t)
	g, _ := tmpl.Globals["Function"].(*global.Function)
	if g == nil {
		g = &global.Function{}
	}
	for id, fn := range tmpl.GetAllServerlessFunctionResources() {
		runtime, arch := fn.Runtime, fn.Architectures
		if runtime == nil { // SAM applies Globals; goformation leaves them apart
			runtime = g.Runtime
		}
		if arch == nil && g.Architectures != nil {
			arch = *g.Architectures
		}
		if runtime == nil || *runtime != "provided.al2023" {
			t.Errorf("%s runtime = %v, want provided.al2023", id, runtime)
		}
		if len(arch) != 1 || arch[0] != "arm64" {
			t.Errorf("%s architectures = %v, want [arm64]", id, arch)
		}
		if fn.AWSCloudFormationMetadata["BuildMethod"] != "makefile" {
			t.Errorf("%s must build with BuildMethod: makefile", id)
		}
		if fn.Policies == nil || fn.Policies.String != nil {
			t.Errorf("%s must list its policies (no managed or admin policy by name)", id)
		}
	}
	tables := tmpl.GetAllDynamoDBTableResources()
	if len(tables) != 1 {
		t.Fatalf("want one table, got %d", len(tables))
	}
	for id, tb := range tables {
		if tb.BillingMode == nil || *tb.BillingMode != "PAY_PER_REQUEST" {
			t.Errorf("%s is not on-demand", id)
		}
		if tb.StreamSpecification == nil || tb.TimeToLiveSpecification == nil || tb.TimeToLiveSpecification.AttributeName == nil || *tb.TimeToLiveSpecification.AttributeName != "ttl" {
			t.Errorf("%s needs a stream and TTL on ttl", id)
		}
		if tb.PointInTimeRecoverySpecification == nil {
			t.Errorf("%s has no point-in-time recovery", id)
		}
	}
	for name, p := range tmpl.Parameters {
		if strings.Contains(strings.ToLower(name), "secret") || strings.Contains(strings.ToLower(name), "encryptionkey") {
			if p.NoEcho == nil || !*p.NoEcho {
				t.Errorf("parameter %s holds a secret but is not NoEcho", name)
			}
		}
	}
}

// httpAPIRoute reads an HttpApi event's method and path. goformation decodes an event's
// properties into whichever union member fits first, and HttpApi's fields also fit the
// REST Api event, so both are looked at.
func httpAPIRoute(t *testing.T, ev serverless.Function_EventSource) (string, string) {
	t.Helper()
	if ev.Properties == nil {
		return "", ""
	}
	if h := ev.Properties.HttpApiEvent; h != nil && h.Method != nil && h.Path != nil {
		return *h.Method, *h.Path
	}
	if a := ev.Properties.ApiEvent; a != nil {
		return a.Method, a.Path
	}
	return "", ""
}

// Chats in the dead-letter queue are missing from Sell's feed until make replay runs:
// the template must raise an alarm on them.
func TestTheDeadLetterQueueRaisesAnAlarm(t *testing.T) {
	tmpl := load(t)
	if len(tmpl.GetAllSQSQueueResources()) == 0 {
		t.Fatal("no dead-letter queue")
	}
	found := false
	for _, a := range tmpl.GetAllCloudWatchAlarmResources() {
		if a.Namespace != nil && *a.Namespace == "AWS/SQS" && a.MetricName != nil && *a.MetricName == "ApproximateNumberOfMessagesVisible" &&
			a.Threshold != nil && *a.Threshold <= 1 {
			found = true
		}
	}
	if !found {
		t.Error("no alarm on visible messages in the dead-letter queue")
	}
}
