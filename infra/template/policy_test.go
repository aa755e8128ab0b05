package template_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The policy check reads template.yaml as YAML nodes rather than through goformation:
// goformation resolves !Ref and !GetAtt away (and decodes a list mixing SAM policy
// templates and statements lossily), and what a policy points at is exactly what is
// checked here.
//
// Only the Policies a function declares are checked. SAM adds AWS's own on top, which
// no template can narrow without replacing the whole role: AWSLambdaBasicExecutionRole
// (the function's logs), AWSXrayWriteOnlyAccess (Tracing: Active; X-Ray's write
// actions have no resource-level permissions, so they are granted on "*"), and, for
// the transcripts function's DynamoDB stream event, AWSLambdaDynamoDBExecutionRole
// (stream reads on "*", which the event source mapping uses to poll).

// Actions of the SAM policy templates the template uses, as SAM expands them
// (policy_templates.json); each is scoped to the resource its parameters name.
var (
	crud = []string{"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
		"dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"}
	read       = []string{"dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"}
	streamRead = []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}
	sqsSend    = []string{"sqs:SendMessage*"}
)

// Resources a grant may point at. Nothing else is allowed: not "*", not another table.
const (
	table  = "the table"
	stream = "the table's stream"
	dlq    = "the transcripts DLQ"
)

// wantGrants is what each function may do, and to what. A change to a function's
// Policies must change this table too, which makes it a reviewed decision.
var wantGrants = map[string]map[string][]string{
	// Settings, pools (a transaction of Put/Update/ConditionCheck), widgets, Sell
	// token refreshes; unmarking a pool deletes.
	"SettingsFunction": {table: crud},
	// Single-use states (Take deletes), tokens, uninstall and purge (Query + Delete).
	"OauthFunction": {table: crud},
	// Reads settings, tokens and pools in one batch; writes only a refreshed Sell
	// token or the mark on a token Sell refused.
	"PanelFunction": {table: with(read, "dynamodb:PutItem", "dynamodb:UpdateItem")},
	// Idempotency records (released with a delete on failure), token refreshes, and
	// the new lead's chat attached to its feed.
	"LeadsFunction": {table: crud},
	// Open to the internet with a signature, no JWT: reads the account's secret and
	// puts each chat once. It was on DynamoDBCrudPolicy (delete, scan, batch write
	// of every account's items) until the security review narrowed it.
	// Since chats beyond an account's pace go straight into its backlog and messaging
	// tickets wait, it also updates (the backlog's list entry, a ticket's wait:
	// UpdateItem, inside transactions too) and batch-reads the erasures' tombstones.
	"ChatwebhookFunction": {table: {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}},
	// Matches chats from the stream, writes feed entries, note leases and jobs; sends
	// a batch it gave up on to its DLQ (the event source mapping's on-failure
	// destination uses the function's role).
	"TranscriptsFunction": {table: crud, stream: streamRead, dlq: sqsSend},
	// Reads; writes only a refreshed Zendesk token, or the mark on one Zendesk
	// refused, while a page's signed entry is exchanged for a session.
	"FeedFunction": {table: with(read, "dynamodb:PutItem", "dynamodb:UpdateItem")},
	// Scheduled, no caller: Query lists the accounts that poll (their list is one
	// partition, so no Scan is needed); GetItem reads each one's integration, cursor
	// and Chat token; PutItem stores each exported chat once (a conditional put, as
	// the webhook does), the cursor after each page, and a refreshed or refused Chat
	// token. It never deletes, scans, or touches the stream.
	// Chats beyond the account's pace go into its backlog (UpdateItem of the list
	// entry), tombstones are batch-read, and waiting messaging tickets are held
	// (UpdateItem) and their waits ended (DeleteItem).
	"ChatpollFunction": {table: {"dynamodb:BatchGetItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}},
	// Admins only: reads a visitor's chats, entries and lead records (Query, GetItem)
	// and erasure jobs; starts an erasure (a transaction of puts: job, lock,
	// tombstone) with its audit entry; makes a failed erasure pending again
	// (UpdateItem). The erasure's deletions run in the transcripts function.
	"PrivacyFunction": {table: {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}},
}

func with(base []string, more ...string) []string {
	out := append(slices.Clone(base), more...)
	sort.Strings(out)
	return out
}

func TestEachFunctionIsGrantedOnlyWhatItNeeds(t *testing.T) {
	root := loadYAML(t)
	resources := child(root, "Resources")
	if resources == nil {
		t.Fatal("template.yaml has no Resources")
	}
	if g := child(child(child(root, "Globals"), "Function"), "Policies"); g != nil {
		t.Error("Globals.Function must not grant policies: every function lists its own")
	}
	dlqName := deadLetterQueue(t, resources)
	seen := map[string]bool{}
	for i := 0; i+1 < len(resources.Content); i += 2 {
		id, res := resources.Content[i].Value, resources.Content[i+1]
		if scalar(child(res, "Type")) != "AWS::Serverless::Function" {
			continue
		}
		seen[id] = true
		props := child(res, "Properties")
		for _, replaces := range []string{"Role", "PermissionsBoundary"} {
			if child(props, replaces) != nil {
				t.Errorf("%s sets %s: its grants would no longer be the Policies checked here", id, replaces)
			}
		}
		got, errs := grants(child(props, "Policies"), dlqName)
		for _, err := range errs {
			t.Errorf("%s: %v", id, err)
		}
		want, ok := wantGrants[id]
		if !ok {
			t.Errorf("%s has no row in wantGrants: say what it may do", id)
			continue
		}
		if a, b := describe(got), describe(want); a != b {
			t.Errorf("%s is granted\n  %s\nbut wantGrants says\n  %s", id, a, b)
		}
	}
	for id := range wantGrants {
		if !seen[id] {
			t.Errorf("wantGrants names %s, which template.yaml does not define", id)
		}
	}
	// What the table above implies, said outright so an edit of both still fails.
	for id, g := range wantGrants {
		if id != "TranscriptsFunction" && (g[stream] != nil || g[dlq] != nil) {
			t.Errorf("only the transcripts function reads the stream and feeds the DLQ, not %s", id)
		}
	}
	for _, a := range wantGrants["FeedFunction"][table] {
		if !slices.Contains(read, a) && a != "dynamodb:PutItem" && a != "dynamodb:UpdateItem" {
			t.Errorf("the feed function reads, and writes only a refreshed token, but is granted %s", a)
		}
	}
	for _, a := range wantGrants["ChatwebhookFunction"][table] {
		if !slices.Contains([]string{"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, a) {
			t.Errorf("the webhook only reads, puts chats and updates a backlog or a wait, but is granted %s", a)
		}
	}
}

// grants turns a function's Policies into resource → sorted actions, refusing
// anything it cannot prove points at the table, its stream or the DLQ.
func grants(policies *yaml.Node, dlqName string) (map[string][]string, []error) {
	out := map[string][]string{}
	var errs []error
	add := func(res string, actions ...string) {
		for _, a := range actions {
			if !slices.Contains(out[res], a) {
				out[res] = append(out[res], a)
			}
		}
		sort.Strings(out[res])
	}
	if policies == nil || policies.Kind != yaml.SequenceNode {
		return out, []error{fmt.Errorf("Policies must be a list of policy templates and statements")}
	}
	for _, p := range policies.Content {
		if p.Kind != yaml.MappingNode || len(p.Content) != 2 {
			errs = append(errs, fmt.Errorf("policy %q at line %d: a managed policy by name, or more than one entry, cannot be checked", scalar(p), p.Line))
			continue
		}
		name, params := p.Content[0].Value, p.Content[1]
		switch name {
		case "DynamoDBCrudPolicy", "DynamoDBReadPolicy":
			if !isRef(child(params, "TableName"), "Table") {
				errs = append(errs, fmt.Errorf("%s at line %d must name !Ref Table", name, p.Line))
				continue
			}
			if name == "DynamoDBCrudPolicy" {
				add(table, crud...)
			} else {
				add(table, read...)
			}
		case "DynamoDBStreamReadPolicy":
			if !isRef(child(params, "TableName"), "Table") || !mentions(child(params, "StreamName"), "!GetAtt", "Table.StreamArn") {
				errs = append(errs, fmt.Errorf("%s at line %d must name !Ref Table and its stream (from !GetAtt Table.StreamArn)", name, p.Line))
				continue
			}
			add(stream, streamRead...)
		case "SQSSendMessagePolicy":
			q := child(params, "QueueName")
			if q == nil || q.Tag != "!GetAtt" || q.Value != dlqName+".QueueName" {
				errs = append(errs, fmt.Errorf("%s at line %d must name the DLQ (!GetAtt %s.QueueName)", name, p.Line, dlqName))
				continue
			}
			add(dlq, sqsSend...)
		case "Statement":
			for _, st := range params.Content {
				res, actions, err := statement(st)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				add(res, actions...)
			}
		default:
			errs = append(errs, fmt.Errorf("policy %s at line %d is not one this test knows: add what it grants", name, p.Line))
		}
	}
	return out, errs
}

// statement reads one IAM statement: Allow, explicit actions (no wildcard service
// or action), and the table by !GetAtt Table.Arn as its only resource.
func statement(st *yaml.Node) (string, []string, error) {
	if scalar(child(st, "Effect")) != "Allow" {
		return "", nil, fmt.Errorf("statement at line %d: only Allow statements are expected", st.Line)
	}
	for _, k := range []string{"NotAction", "NotResource", "Principal"} {
		if child(st, k) != nil {
			return "", nil, fmt.Errorf("statement at line %d uses %s", st.Line, k)
		}
	}
	var actions []string
	for _, a := range list(child(st, "Action")) {
		if a.Tag != "!!str" || a.Value == "*" || strings.HasSuffix(a.Value, ":*") || !strings.HasPrefix(a.Value, "dynamodb:") {
			return "", nil, fmt.Errorf("statement at line %d: action %q is not one named DynamoDB action", st.Line, a.Value)
		}
		actions = append(actions, a.Value)
	}
	resources := list(child(st, "Resource"))
	if len(actions) == 0 || len(resources) == 0 {
		return "", nil, fmt.Errorf("statement at line %d needs Action and Resource", st.Line)
	}
	for _, r := range resources {
		if r.Tag != "!GetAtt" || r.Value != "Table.Arn" {
			return "", nil, fmt.Errorf("statement at line %d: resource %s %q is not !GetAtt Table.Arn", st.Line, r.Tag, r.Value)
		}
	}
	return table, actions, nil
}

// deadLetterQueue names the queue the transcripts stream event sends failures to.
func deadLetterQueue(t *testing.T, resources *yaml.Node) string {
	t.Helper()
	fn := child(child(resources, "TranscriptsFunction"), "Properties")
	dest := child(child(child(child(child(child(fn, "Events"), "TableStream"), "Properties"), "DestinationConfig"), "OnFailure"), "Destination")
	if dest == nil || dest.Tag != "!GetAtt" || !strings.HasSuffix(dest.Value, ".Arn") {
		t.Fatal("the transcripts stream event has no on-failure queue (!GetAtt <Queue>.Arn)")
	}
	name := strings.TrimSuffix(dest.Value, ".Arn")
	if scalar(child(child(resources, name), "Type")) != "AWS::SQS::Queue" {
		t.Fatalf("%s is not an SQS queue of this template", name)
	}
	return name
}

func loadYAML(t *testing.T) *yaml.Node {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return doc.Content[0]
}

// child returns the value of key in mapping m (nil when absent or m is nil).
func child(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// list is a scalar or a sequence of scalars as a slice.
func list(n *yaml.Node) []*yaml.Node {
	switch {
	case n == nil:
		return nil
	case n.Kind == yaml.SequenceNode:
		return n.Content
	default:
		return []*yaml.Node{n}
	}
}

func isRef(n *yaml.Node, name string) bool { return n != nil && n.Tag == "!Ref" && n.Value == name }

// mentions reports whether n holds, at any depth, a node tagged tag with value v.
func mentions(n *yaml.Node, tag, v string) bool {
	if n == nil {
		return false
	}
	if n.Tag == tag && n.Value == v {
		return true
	}
	for _, c := range n.Content {
		if mentions(c, tag, v) {
			return true
		}
	}
	return false
}

func describe(g map[string][]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(g)) {
		a := slices.Clone(g[k])
		sort.Strings(a)
		parts = append(parts, k+": "+strings.Join(a, " "))
	}
	return strings.Join(parts, "; ")
}
