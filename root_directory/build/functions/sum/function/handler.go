// Package function is the sum function: it answers the sum of the numbers in the request body.
package function

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode"
)

// maxBody is the largest request body read, in bytes.
const maxBody = 1 << 20

// Handle answers the sum of the numbers in the request body, separated by white space or commas
// ("1 2 3", "1,2,3" or one number per line). An empty body sums to 0. Anything that is not a number
// is a 400 naming the offending field.
func Handle(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		http.Error(w, "cannot read the request body", http.StatusBadRequest)
		return
	}
	if len(body) > maxBody {
		http.Error(w, fmt.Sprintf("request body is larger than %d bytes", maxBody), http.StatusRequestEntityTooLarge)
		return
	}
	total, err := Sum(string(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, strconv.FormatFloat(total, 'f', -1, 64))
}

// Sum adds the numbers of a text whose fields are separated by white space or commas.
func Sum(text string) (float64, error) {
	fields := strings.FieldsFunc(text, func(c rune) bool { return unicode.IsSpace(c) || c == ',' })
	total := 0.0
	for i, field := range fields {
		value, err := strconv.ParseFloat(field, 64)
		if err != nil || value != value || value > 1e308 || value < -1e308 {
			return 0, fmt.Errorf("field %d (%q) is not a finite number", i+1, field)
		}
		total += value
	}
	return total, nil
}
