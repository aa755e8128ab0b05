// Command hello is the cold-start baseline of make bench: the smallest aws-lambda-go
// function that answers an API Gateway HTTP API (v2) event. It is built with the same
// flags as the functions, so a function's cold start over this one's is what our own
// code and dependencies add to the Go runtime and aws-lambda-go.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(_ context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain"}, Body: "hello"}, nil
	})
}
