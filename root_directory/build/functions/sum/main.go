// The golang-middleware template's upstream server: of-watchdog (http mode) proxies every request to
// 127.0.0.1:8082, where function.Handle answers it.
package main

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"handler/function"
)

const upstreamAddress = "127.0.0.1:8082"

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

func main() {
	readTimeout := timeout("read_timeout", 10*time.Second)
	writeTimeout := timeout("write_timeout", 10*time.Second)
	server := &http.Server{
		Addr:           upstreamAddress,
		Handler:        http.HandlerFunc(function.Handle),
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
		log.Fatalf("listen on %s: %v", upstreamAddress, err)
	}
	<-stopped
}
