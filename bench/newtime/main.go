// Command newtime measures idvmocktest's start-up inside one process, as a test binary sees
// it: the first mock of the process (which pays for what later ones reuse), then the median of
// the next N. For each it times Start (what idvmocktest.New does before it returns) and Start
// plus the first answer on user_active through srv.Client; Close is not timed. It prints:
//
//	first-new MS
//	first-answer MS
//	new MS ...        (each of the next N, in order)
//	answer MS ...
//	median-new MS
//	median-answer MS
//
//	newtime [-n 20]
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/idvmock/idvmock/idvmocktest"
)

func main() {
	n := flag.Int("n", 20, "mocks to time after the first")
	flag.Parse()
	if *n < 1 {
		fmt.Fprintln(os.Stderr, "newtime: -n must be at least 1")
		os.Exit(2)
	}
	firstNew, firstAnswer := once()
	news, answers := make([]float64, *n), make([]float64, *n)
	for i := range *n {
		news[i], answers[i] = once()
	}
	fmt.Printf("first-new %.2f\nfirst-answer %.2f\n", firstNew, firstAnswer)
	fmt.Printf("new %s\nanswer %s\n", join(news), join(answers))
	fmt.Printf("median-new %.2f\nmedian-answer %.2f\n", median(news), median(answers))
}

// once starts a mock, asks it for user_active, closes it, and returns the milliseconds to
// Start's return and to the first answer.
func once() (newMS, answerMS float64) {
	start := time.Now()
	srv, err := idvmocktest.Start()
	if err != nil {
		fail(err)
	}
	newMS = ms(time.Since(start))
	req, _ := http.NewRequest(http.MethodGet, srv.VendorURL("")+idvmocktest.PathLatest+"?userId=user_active", nil)
	req.Header.Set("X-ACCESS-TOKEN", "bench-token")
	resp, err := srv.Client.Do(req)
	if err != nil {
		fail(err)
	}
	resp.Body.Close()
	answerMS = ms(time.Since(start))
	if resp.StatusCode != http.StatusOK {
		fail(fmt.Errorf("user_active: HTTP %d", resp.StatusCode))
	}
	if err := srv.Close(); err != nil {
		fail(err)
	}
	return newMS, answerMS
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func join(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(parts, " ")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "newtime:", err)
	os.Exit(1)
}
