// Command natsclient is the queue tier's test client: it publishes and consumes the way the gateway and the
// queue-worker do (NATS Streaming: cluster faas-cluster, channel faas-request, durable queue group faas;
// JetStream: a stream and a durable consumer, as the Pro queue-worker uses), and prints what it saw as JSON.
//
//	natsclient stan-pub  -url URL -cluster ID -channel CH -count N [-size BYTES] [-first I]
//	natsclient stan-sub  -url URL -cluster ID -channel CH -group G -expect N [-timeout D] [-register]
//	natsclient js-pub    -url URL -stream S -subject SUBJ -count N [-size BYTES]
//	natsclient js-count  -url URL -stream S
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

func stanPub(args []string) {
	flags := flag.NewFlagSet("stan-pub", flag.ExitOnError)
	url := flags.String("url", nats.DefaultURL, "NATS URL")
	cluster := flags.String("cluster", "faas-cluster", "NATS Streaming cluster id")
	channel := flags.String("channel", "faas-request", "channel")
	count := flags.Int("count", 1, "messages to publish")
	size := flags.Int("size", 0, "bytes per message (padded)")
	first := flags.Int("first", 0, "index of the first message")
	_ = flags.Parse(args)
	conn, err := stan.Connect(*cluster, fmt.Sprintf("faasplane-test-pub-%d", os.Getpid()), stan.NatsURL(*url))
	if err != nil {
		fail("connect: %v", err)
	}
	defer conn.Close()
	for index := *first; index < *first+*count; index++ {
		// Synchronous: the call returns once the server has stored the message (as the gateway publishes).
		if err := conn.Publish(*channel, payload(index, *size)); err != nil {
			fail("publish %d: %v", index, err)
		}
	}
	emit(map[string]int{"published": *count})
}

func stanSub(args []string) {
	flags := flag.NewFlagSet("stan-sub", flag.ExitOnError)
	url := flags.String("url", nats.DefaultURL, "NATS URL")
	cluster := flags.String("cluster", "faas-cluster", "NATS Streaming cluster id")
	channel := flags.String("channel", "faas-request", "channel")
	group := flags.String("group", "faas", "queue group (also the durable name)")
	expect := flags.Int("expect", 0, "distinct messages to wait for")
	timeout := flags.Duration("timeout", 30*time.Second, "give up after this long")
	register := flags.Bool("register", false, "subscribe, then leave without unsubscribing (the durable stays)")
	_ = flags.Parse(args)
	conn, err := stan.Connect(*cluster, fmt.Sprintf("faasplane-test-sub-%d", os.Getpid()), stan.NatsURL(*url))
	if err != nil {
		fail("connect: %v", err)
	}
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
	_, err = conn.QueueSubscribe(*channel, *group, handler, stan.DurableName(*group), stan.SetManualAckMode(),
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

func jsPub(args []string) {
	flags := flag.NewFlagSet("js-pub", flag.ExitOnError)
	url := flags.String("url", nats.DefaultURL, "NATS URL")
	stream := flags.String("stream", "faas-request", "stream (created when missing, file storage)")
	subject := flags.String("subject", "faas-request", "subject")
	count := flags.Int("count", 1, "messages to publish")
	size := flags.Int("size", 0, "bytes per message (padded)")
	_ = flags.Parse(args)
	conn, err := nats.Connect(*url)
	if err != nil {
		fail("connect: %v", err)
	}
	defer conn.Close()
	js, err := conn.JetStream()
	if err != nil {
		fail("jetstream: %v", err)
	}
	if _, err := js.StreamInfo(*stream); err != nil {
		if _, err := js.AddStream(&nats.StreamConfig{Name: *stream, Subjects: []string{*subject},
			Storage: nats.FileStorage, Retention: nats.WorkQueuePolicy}); err != nil {
			fail("add stream: %v", err)
		}
	}
	for index := 0; index < *count; index++ {
		if _, err := js.Publish(*subject, payload(index, *size)); err != nil {
			fail("publish %d: %v", index, err)
		}
	}
	emit(map[string]int{"published": *count})
}

func jsCount(args []string) {
	flags := flag.NewFlagSet("js-count", flag.ExitOnError)
	url := flags.String("url", nats.DefaultURL, "NATS URL")
	stream := flags.String("stream", "faas-request", "stream")
	_ = flags.Parse(args)
	conn, err := nats.Connect(*url)
	if err != nil {
		fail("connect: %v", err)
	}
	defer conn.Close()
	js, err := conn.JetStream()
	if err != nil {
		fail("jetstream: %v", err)
	}
	info, err := js.StreamInfo(*stream)
	if err != nil {
		fail("stream info: %v", err)
	}
	emit(map[string]any{"messages": info.State.Msgs, "bytes": info.State.Bytes, "storage": info.Config.Storage.String()})
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: natsclient stan-pub|stan-sub|js-pub|js-count [flags]")
	}
	commands := map[string]func([]string){"stan-pub": stanPub, "stan-sub": stanSub, "js-pub": jsPub, "js-count": jsCount}
	command, ok := commands[os.Args[1]]
	if !ok {
		fail("unknown command %q", os.Args[1])
	}
	command(os.Args[2:])
}
