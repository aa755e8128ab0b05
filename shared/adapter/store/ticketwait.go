package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A messaging ticket is read from Zendesk when its solved notification arrives,
// through APIs with limits of their own (the conversation log allows about 100
// requests a minute per account). A read that Zendesk refuses or cannot answer
// must not lose the conversation, and Zendesk retries a webhook only a few times,
// so the ticket waits here until a later run reads it (the chat poll's, once a
// minute). Two kinds of item, like the backlog's (backlog.go):
//
//	ACCOUNT#<account> / TICKETWAIT#<ticket id>   a ticket whose conversation is still to be read
//	TICKETWAIT        / <account>                the account has tickets waiting: counter, hold
//
// The list item is written with each wait in one transaction, and deleted by
// CloseTicketWaits only if no wait came in since the reader found none (the "n"
// counter), so no waiting ticket is ever unlisted. The items hold ticket ids and
// error texts, nothing of the conversation or its requester.
const (
	ticketWaitListPK = "TICKETWAIT"
	ticketWaitPrefix = "TICKETWAIT#"
)

// TicketWait is one ticket waiting to be read.
type TicketWait struct {
	Ticket int64 `dynamodbav:"-"`
	// Since is when it first waited, Attempts how many reads failed, LastError
	// what the last one said.
	Since     time.Time `dynamodbav:"since"`
	Attempts  int       `dynamodbav:"attempts"`
	LastError string    `dynamodbav:"lastError,omitempty"`
}

// TicketWaits is an account's waiting tickets, oldest ticket first.
type TicketWaits struct {
	// N counts WaitForTicket calls; CloseTicketWaits holds only while it is unchanged.
	N int64 `dynamodbav:"n"`
	// NotBefore holds every read of the account back (Zendesk's Retry-After).
	NotBefore time.Time    `dynamodbav:"notBefore,omitempty"`
	Tickets   []TicketWait `dynamodbav:"-"`
}

func ticketWaitKey(account string, ticket int64) Key {
	return Key{Account: account, SK: ticketWaitPrefix + strconv.FormatInt(ticket, 10)}
}

// WaitForTicket keeps ticket waiting for a read, counting the failed read that
// sent it here (why) and holding the account's reads until notBefore (zero: no
// hold). A ticket already waiting keeps its Since. One transaction: the wait and
// the account's list item are written together.
func (s *Store) WaitForTicket(ctx context.Context, account string, ticket int64, why string, notBefore, now time.Time) error {
	wait := &types.Update{
		TableName: &s.table, Key: ticketWaitKey(account, ticket).av(),
		UpdateExpression:         aws.String("SET #since = if_not_exists(#since, :now), #err = :err ADD #attempts :one"),
		ExpressionAttributeNames: map[string]string{"#since": "since", "#err": "lastError", "#attempts": "attempts"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": timeAV(now), ":err": &types.AttributeValueMemberS{Value: truncate(why, 500)}, ":one": number(1),
		},
	}
	list := &types.Update{
		TableName: &s.table, Key: keyAV(ticketWaitListPK, account),
		UpdateExpression:          aws.String("ADD #n :one"),
		ExpressionAttributeNames:  map[string]string{"#n": "n"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": number(1)},
	}
	if !notBefore.IsZero() {
		list.UpdateExpression = aws.String("SET #hold = :hold ADD #n :one")
		list.ExpressionAttributeNames["#hold"] = "notBefore"
		list.ExpressionAttributeValues[":hold"] = timeAV(notBefore)
	}
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: wait}, {Update: list},
	}})
	if err != nil {
		return fmt.Errorf("keep ticket %d of %s waiting: %w", ticket, account, err)
	}
	return nil
}

func timeAV(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberS{Value: t.UTC().Format(time.RFC3339Nano)}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// HoldTicketWaits holds the account's reads until notBefore (Zendesk's
// Retry-After), if it still has tickets waiting.
func (s *Store) HoldTicketWaits(ctx context.Context, account string, notBefore time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: keyAV(ticketWaitListPK, account),
		UpdateExpression:          aws.String("SET #hold = :hold"),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames:  map[string]string{"#hold": "notBefore", "#pk": AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":hold": timeAV(notBefore)},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("hold the waiting tickets of %s: %w", account, err)
	}
	return nil
}

// TicketWaitAccounts lists the accounts with tickets waiting: one Query of the
// list partition.
func (s *Store) TicketWaitAccounts(ctx context.Context) ([]string, error) {
	return s.listedAccounts(ctx, ticketWaitListPK, "the accounts with tickets waiting")
}

// HasTicketWaits reports whether the account has tickets waiting (its list item
// exists): one read of one small item, for the webhook to queue a new conversation
// behind them rather than spend the account's Zendesk minute out of turn.
func (s *Store) HasTicketWaits(ctx context.Context, account string) (bool, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: keyAV(ticketWaitListPK, account),
		ProjectionExpression: aws.String("#pk"), ExpressionAttributeNames: map[string]string{"#pk": AttrPK}})
	if err != nil {
		return false, fmt.Errorf("read the waiting tickets of %s: %w", account, err)
	}
	return res.Item != nil, nil
}

// TicketWaits returns the account's list item and waiting tickets; N is 0 and
// Tickets empty when none wait. The list item is read first, so a wait that comes
// in after it changes N and keeps CloseTicketWaits from closing.
func (s *Store) TicketWaits(ctx context.Context, account string) (TicketWaits, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: keyAV(ticketWaitListPK, account), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return TicketWaits{}, fmt.Errorf("read the waiting tickets of %s: %w", account, err)
	}
	var w TicketWaits
	if res.Item != nil {
		if err := attributevalue.UnmarshalMap(res.Item, &w); err != nil {
			return TicketWaits{}, fmt.Errorf("decode the waiting tickets of %s: %w", account, err)
		}
	}
	items, err := s.QueryPrefix(ctx, account, ticketWaitPrefix, 0, false)
	if err != nil {
		return TicketWaits{}, fmt.Errorf("read the waiting tickets of %s: %w", account, err)
	}
	for _, it := range items {
		t := TicketWait{}
		if err := attributevalue.UnmarshalMap(it.attrs, &t); err != nil {
			return TicketWaits{}, fmt.Errorf("decode %s of %s: %w", it.SK, account, err)
		}
		id, err := strconv.ParseInt(strings.TrimPrefix(it.SK, ticketWaitPrefix), 10, 64)
		if err != nil {
			return TicketWaits{}, fmt.Errorf("waiting ticket %q of %s: %w", it.SK, account, err)
		}
		t.Ticket = id
		w.Tickets = append(w.Tickets, t)
	}
	// The sort key orders ids as text ("10" before "9"); oldest first is lowest id.
	slices.SortFunc(w.Tickets, func(a, b TicketWait) int { return cmp.Compare(a.Ticket, b.Ticket) })
	return w, nil
}

// TicketRead ends the wait of w.Ticket, read (or needing no reading), unless it was
// sent to wait again since TicketWaits showed w (its Attempts changed): a
// notification that came in while the ticket was being read may bring a newer
// solve of the conversation, so the ticket stays for the next read. It reports
// whether the wait ended.
func (s *Store) TicketRead(ctx context.Context, account string, w TicketWait) (bool, error) {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: ticketWaitKey(account, w.Ticket).av(),
		ConditionExpression:       aws.String("attribute_not_exists(#attempts) OR #attempts = :seen"),
		ExpressionAttributeNames:  map[string]string{"#attempts": "attempts"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":seen": number(int64(w.Attempts))},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("end the wait of ticket %d of %s: %w", w.Ticket, account, err)
	}
	return true, nil
}

// CloseTicketWaits removes the account from the list if no ticket was kept
// waiting since its list item showed n (TicketWaits.N). False when one was: the
// reader looks again on its next run.
func (s *Store) CloseTicketWaits(ctx context.Context, account string, n int64) (bool, error) {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: keyAV(ticketWaitListPK, account),
		ConditionExpression:       aws.String("attribute_not_exists(#n) OR #n = :n"),
		ExpressionAttributeNames:  map[string]string{"#n": "n"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": number(n)},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("close the waiting tickets of %s: %w", account, err)
	}
	return true, nil
}
