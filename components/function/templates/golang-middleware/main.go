// The golang-middleware template's upstream server: of-watchdog (http mode) proxies every request to its
// upstream_url (127.0.0.1:8082 in the image), where function.Handle answers it.
package main

import (
	"context"
	"errors"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"handler/function"
)

const defaultUpstream = "127.0.0.1:8082"

// upstreamAddress reads the watchdog's own upstream_url (the Dockerfile sets it), so the two cannot disagree.
func upstreamAddress() string {
	value := os.Getenv("upstream_url")
	if value == "" {
		return defaultUpstream
	}
	parsed, err := url.Parse(value)
	if err != nil || parsed.Host == "" {
		log.Printf("upstream_url=%q is not a URL, using %s", value, defaultUpstream)
		return defaultUpstream
	}
	return parsed.Host
}

// timeout reads the watchdog's timeout variables: a Go duration or a number of seconds.
func timeout(name string, fallback time.Duration) time.Duration {
	value := os.Getenv(name)
	if value == "" {
		return fallback
	}
	if seconds, err := strconv.Atoi(value); err == nil {
		return time.Duration(seconds) * time.Second
	}
	if duration, err := time.ParseDuration(value); err == nil {
		return duration
	}
	log.Printf("%s=%q is not a duration, using %s", name, value, fallback)
	return fallback
}

// recovering answers 500 when the handler panics, instead of net/http's dropped connection.
func recovering(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if failure := recover(); failure != nil {
				if failure == http.ErrAbortHandler {
					panic(failure)
				}
				log.Printf("handler panicked: %v", failure)
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func main() {
	readTimeout := timeout("read_timeout", 10*time.Second)
	writeTimeout := timeout("write_timeout", 10*time.Second)
	address := upstreamAddress()
	server := &http.Server{
		Addr:           address,
		Handler:        recovering(http.HandlerFunc(function.Handle)),
		ReadTimeout:    readTimeout,
		WriteTimeout:   writeTimeout,
		MaxHeaderBytes: 1 << 20,
	}

	stopped := make(chan struct{})
	go func() {
		signals := make(chan os.Signal, 1)
		signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
		<-signals
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		defer cancel()
		if err := server.Shutdown(ctx); err != nil {
			log.Printf("shutdown: %v", err)
		}
		close(stopped)
	}()

	if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("listen on %s: %v", address, err)
	}
	<-stopped
}
