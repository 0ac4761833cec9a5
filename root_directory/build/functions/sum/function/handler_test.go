package function

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func invoke(body string) *httptest.ResponseRecorder {
	recorder := httptest.NewRecorder()
	Handle(recorder, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)))
	return recorder
}

func TestSum(t *testing.T) {
	cases := map[string]string{
		"":             "0\n",
		"1 2 3":        "6\n",
		"1,2,3":        "6\n",
		"1\n2\n3\n":    "6\n",
		"1.5, -0.5  4": "5\n",
		"10 20 30 40":  "100\n",
	}
	for body, want := range cases {
		recorder := invoke(body)
		if recorder.Code != http.StatusOK {
			t.Errorf("body %q: status %d, want 200", body, recorder.Code)
		}
		if got := recorder.Body.String(); got != want {
			t.Errorf("body %q: got %q, want %q", body, got, want)
		}
	}
}

func TestNotANumber(t *testing.T) {
	for _, body := range []string{"1 two 3", "NaN", "1e999", "Inf"} {
		recorder := invoke(body)
		if recorder.Code != http.StatusBadRequest {
			t.Errorf("body %q: status %d, want 400", body, recorder.Code)
		}
	}
	if got := invoke("1 two").Body.String(); !strings.Contains(got, `field 2 ("two")`) {
		t.Errorf("message %q does not name the field", got)
	}
}

func TestBodyTooLarge(t *testing.T) {
	recorder := invoke(strings.Repeat("1 ", maxBody))
	if recorder.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", recorder.Code)
	}
}
