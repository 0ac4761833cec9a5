// Command natsclient is the queue tier's test client: it publishes and consumes the way the gateway and the
// queue-worker do, and prints what it saw as JSON. NATS Streaming: cluster faas-cluster, channel faas-request,
// durable queue group faas. JetStream: js-setup creates the stream and the durable pull consumer with the
// settings the Pro queue-worker is given (the test passes them from the render), js-pub publishes as the
// gateway does, js-count reads the stream and the consumer back.
//
//	natsclient stan-pub  -url URL -cluster ID -channel CH -count N [-size BYTES] [-first I]
//	natsclient stan-sub  -url URL -cluster ID -channel CH -group G -expect N [-timeout D] [-register]
//	natsclient js-setup  -url URL -stream S -subject SUBJ -durable D [-replicas N] [-ack-wait D] [-max-ack-pending N]
//	natsclient js-pub    -url URL -subject SUBJ -count N [-size BYTES]
//	natsclient js-count  -url URL -stream S -durable D
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/stan.go"
)

type message struct {
	Index   int    `json:"i"`
	Padding string `json:"pad,omitempty"`
}

func payload(index, size int) []byte {
	data, _ := json.Marshal(message{Index: index})
	if pad := size - len(data) - len(`,"pad":""`); pad > 0 {
		data, _ = json.Marshal(message{Index: index, Padding: strings.Repeat("x", pad)})
	}
	return data
}

func emit(result any) {
	out, _ := json.Marshal(result)
	fmt.Println(string(out))
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "natsclient: "+format+"\n", args...)
	os.Exit(1)
}

// command is one subcommand's flags, with the -url every subcommand takes.
type command struct {
	*flag.FlagSet
	url *string
}

func newCommand(name string) command {
	flags := flag.NewFlagSet(name, flag.ExitOnError)
	return command{flags, flags.String("url", nats.DefaultURL, "NATS URL")}
}

// streaming is a NATS Streaming subcommand: it also takes the cluster id and the channel.
type streaming struct {
	command
	cluster, channel *string
}

func newStreaming(name string) streaming {
	c := newCommand(name)
	return streaming{c, c.String("cluster", "faas-cluster", "NATS Streaming cluster id"),
		c.String("channel", "faas-request", "channel")}
}

// connect parses the arguments and connects to the cluster as a client named after the role and the pid.
func (s streaming) connect(args []string, role string) stan.Conn {
	_ = s.Parse(args)
	conn, err := stan.Connect(*s.cluster, fmt.Sprintf("faasplane-test-%s-%d", role, os.Getpid()), stan.NatsURL(*s.url))
	if err != nil {
		fail("connect: %v", err)
	}
	return conn
}

// jetStream parses the arguments and connects to NATS; the caller closes the connection.
func (c command) jetStream(args []string) (*nats.Conn, nats.JetStreamContext) {
	_ = c.Parse(args)
	conn, err := nats.Connect(*c.url)
	if err != nil {
		fail("connect: %v", err)
	}
	js, err := conn.JetStream()
	if err != nil {
		fail("jetstream: %v", err)
	}
	return conn, js
}

func stanPub(args []string) {
	s := newStreaming("stan-pub")
	count := s.Int("count", 1, "messages to publish")
	size := s.Int("size", 0, "bytes per message (padded)")
	first := s.Int("first", 0, "index of the first message")
	conn := s.connect(args, "pub")
	defer conn.Close()
	for index := *first; index < *first+*count; index++ {
		// Synchronous: the call returns once the server has stored the message (as the gateway publishes).
		if err := conn.Publish(*s.channel, payload(index, *size)); err != nil {
			fail("publish %d: %v", index, err)
		}
	}
	emit(map[string]int{"published": *count})
}

func stanSub(args []string) {
	s := newStreaming("stan-sub")
	group := s.String("group", "faas", "queue group (also the durable name)")
	expect := s.Int("expect", 0, "distinct messages to wait for")
	timeout := s.Duration("timeout", 30*time.Second, "give up after this long")
	register := s.Bool("register", false, "subscribe, then leave without unsubscribing (the durable stays)")
	conn := s.connect(args, "sub")
	var mu sync.Mutex
	seen := map[int]int{}
	done := make(chan struct{})
	handler := func(msg *stan.Msg) {
		var m message
		if err := json.Unmarshal(msg.Data, &m); err != nil {
			fail("message %d is not JSON: %v", msg.Sequence, err)
		}
		_ = msg.Ack()
		mu.Lock()
		seen[m.Index]++
		if len(seen) == *expect && *expect > 0 {
			close(done)
		}
		mu.Unlock()
	}
	_, err := conn.QueueSubscribe(*s.channel, *group, handler, stan.DurableName(*group), stan.SetManualAckMode(),
		stan.DeliverAllAvailable(), stan.AckWait(30*time.Second), stan.MaxInflight(64))
	if err != nil {
		fail("subscribe: %v", err)
	}
	if *register {
		// Closing the connection without Unsubscribe keeps a durable queue group on the server.
		_ = conn.Close()
		emit(map[string]bool{"registered": true})
		return
	}
	select {
	case <-done:
	case <-time.After(*timeout):
	}
	_ = conn.Close()
	mu.Lock()
	defer mu.Unlock()
	delivered, duplicates := 0, 0
	for _, times := range seen {
		delivered += times
		duplicates += times - 1
	}
	emit(map[string]int{"distinct": len(seen), "delivered": delivered, "duplicates": duplicates})
}

func jsSetup(args []string) {
	c := newCommand("js-setup")
	stream := c.String("stream", "faas-request", "stream")
	subject := c.String("subject", "faas-request", "subject the gateway publishes to")
	durable := c.String("durable", "faas-workers", "durable consumer the queue-workers share")
	replicas := c.Int("replicas", 1, "stream replicas")
	ackWait := c.Duration("ack-wait", 60*time.Second, "redelivery after this long without an ack")
	maxAckPending := c.Int("max-ack-pending", 1, "invocations in flight at once")
	conn, js := c.jetStream(args)
	defer conn.Close()
	// File storage (what the rendered --store_dir is for); work-queue retention: an invocation leaves the
	// stream once a queue-worker has acknowledged it.
	if _, err := js.AddStream(&nats.StreamConfig{Name: *stream, Subjects: []string{*subject}, Replicas: *replicas,
		Storage: nats.FileStorage, Retention: nats.WorkQueuePolicy}); err != nil {
		fail("add stream: %v", err)
	}
	if _, err := js.AddConsumer(*stream, &nats.ConsumerConfig{Durable: *durable, AckPolicy: nats.AckExplicitPolicy,
		AckWait: *ackWait, MaxAckPending: *maxAckPending, DeliverPolicy: nats.DeliverAllPolicy}); err != nil {
		fail("add consumer: %v", err)
	}
	emit(map[string]string{"stream": *stream, "durable": *durable})
}

func jsPub(args []string) {
	c := newCommand("js-pub")
	subject := c.String("subject", "faas-request", "subject")
	count := c.Int("count", 1, "messages to publish")
	size := c.Int("size", 0, "bytes per message (padded)")
	conn, js := c.jetStream(args)
	defer conn.Close()
	for index := 0; index < *count; index++ {
		// Acknowledged by the server once stored; with no stream on the subject, this fails.
		if _, err := js.Publish(*subject, payload(index, *size)); err != nil {
			fail("publish %d: %v", index, err)
		}
	}
	emit(map[string]int{"published": *count})
}

func jsCount(args []string) {
	c := newCommand("js-count")
	stream := c.String("stream", "faas-request", "stream")
	durable := c.String("durable", "faas-workers", "durable consumer")
	conn, js := c.jetStream(args)
	defer conn.Close()
	info, err := js.StreamInfo(*stream)
	if err != nil {
		fail("stream info: %v", err)
	}
	consumer, err := js.ConsumerInfo(*stream, *durable)
	if err != nil {
		fail("consumer info: %v", err)
	}
	emit(map[string]any{"messages": info.State.Msgs, "bytes": info.State.Bytes,
		"consumer": map[string]any{"name": consumer.Name, "pending": consumer.NumPending,
			"ack_wait_s": consumer.Config.AckWait.Seconds(), "max_ack_pending": consumer.Config.MaxAckPending}})
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: natsclient stan-pub|stan-sub|js-setup|js-pub|js-count [flags]")
	}
	commands := map[string]func([]string){"stan-pub": stanPub, "stan-sub": stanSub, "js-setup": jsSetup,
		"js-pub": jsPub, "js-count": jsCount}
	command, ok := commands[os.Args[1]]
	if !ok {
		fail("unknown command %q", os.Args[1])
	}
	command(os.Args[2:])
}
