package streams_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	st "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/sellchat/sellchat/infra/streams"
)

// A batch read again from the stream (make replay's dead-letter queue) keeps who
// made each change: the TTL's deletions are told by it.
func TestConvertKeepsWhoMadeTheChange(t *testing.T) {
	t.Parallel()
	ttl := streams.Convert(st.Record{EventName: st.OperationTypeRemove,
		UserIdentity: &st.Identity{Type: aws.String("Service"), PrincipalId: aws.String("dynamodb.amazonaws.com")}}, "arn")
	if u := ttl.UserIdentity; u == nil || u.Type != "Service" || u.PrincipalID != "dynamodb.amazonaws.com" {
		t.Fatalf("identity %+v", u)
	}
	if plain := streams.Convert(st.Record{EventName: st.OperationTypeRemove}, "arn"); plain.UserIdentity != nil {
		t.Fatalf("a removal without identity got %+v", plain.UserIdentity)
	}
}
