// Command loadgen is the functions benchmark's HTTP client: N workers, each with its own kept-alive
// connection, POST the same body for a fixed time and check every reply. It prints one JSON object with the
// count, errors and latency percentiles. A Go client, so that the client is not what is measured: a Python
// client on the same two cores saturates long before a Go handler does.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

type result struct {
	Requests   int     `json:"requests"`
	Errors     int     `json:"errors"`
	Seconds    float64 `json:"seconds"`
	RPS        float64 `json:"rps"`
	P50Ms      float64 `json:"p50_ms"`
	P99Ms      float64 `json:"p99_ms"`
	FirstError string  `json:"first_error,omitempty"`
}

func main() {
	url := flag.String("url", "", "URL to POST to")
	body := flag.String("body", "", "request body")
	expect := flag.String("expect", "", "expected reply body (trimmed)")
	concurrency := flag.Int("c", 1, "concurrent workers")
	duration := flag.Duration("d", 5*time.Second, "how long to send")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "loadgen: -url is required")
		os.Exit(2)
	}

	var mu sync.Mutex
	var latencies []float64
	errors := 0
	firstError := ""
	deadline := time.Now().Add(*duration)
	started := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < *concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{
				Timeout:   30 * time.Second,
				Transport: &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1},
			}
			var own []float64
			ownErrors := 0
			ownFirst := ""
			for time.Now().Before(deadline) {
				t0 := time.Now()
				problem := call(client, *url, *body, *expect)
				if problem != "" {
					ownErrors++
					if ownFirst == "" {
						ownFirst = problem
					}
					continue // a failed call's latency is not a served request's
				}
				own = append(own, time.Since(t0).Seconds())
			}
			mu.Lock()
			latencies = append(latencies, own...)
			errors += ownErrors
			if firstError == "" {
				firstError = ownFirst
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(started).Seconds()
	sort.Float64s(latencies)
	out := result{Requests: len(latencies), Errors: errors, Seconds: elapsed, FirstError: firstError,
		RPS: float64(len(latencies)) / elapsed, P50Ms: 1000 * rank(latencies, 0.50), P99Ms: 1000 * rank(latencies, 0.99)}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func call(client *http.Client, url, body, expect string) string {
	reply, err := client.Post(url, "text/plain", bytes.NewBufferString(body))
	if err != nil {
		return err.Error()
	}
	defer reply.Body.Close()
	text, err := io.ReadAll(reply.Body)
	if err != nil {
		return err.Error()
	}
	if reply.StatusCode != http.StatusOK {
		return fmt.Sprintf("status %d", reply.StatusCode)
	}
	if expect != "" && strings.TrimSpace(string(text)) != expect {
		return fmt.Sprintf("unexpected reply %q", text)
	}
	return ""
}

// rank is the nearest-rank percentile of sorted values (0 when there are none).
func rank(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	index := int(math.Ceil(p*float64(len(sorted)))) - 1
	if index < 0 {
		index = 0
	}
	return sorted[index]
}
