package phone

import "testing"

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw, region, want string
		ok                      bool
	}{
		{"an E.164 number is kept as is", "+14155550100", "", "+14155550100", true},
		{"spaces and dashes are removed", "+1 415-555-0100", "", "+14155550100", true},
		{"a national number is read in the default region", "(415) 555-0100", "", "+14155550100", true},
		{"a national number is read in the given region", "020 7946 0958", "GB", "+442079460958", true},
		{"a lower-case region is accepted", "020 7946 0958", "gb", "+442079460958", true},
		{"an international number ignores the region", "+44 20 7946 0958", "US", "+442079460958", true},
		{"an empty string is not a number", "  ", "", "", false},
		{"letters are not a number", "call me maybe", "", "", false},
		{"too few digits are not a number", "12", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := Normalize(tt.raw, tt.region)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Normalize(%q, %q) = %q, %v; want %q, %v", tt.raw, tt.region, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestEqual(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"differently written forms of one number are equal", "+1 415 555 0100", "415.555.0100", true},
		{"different numbers are not equal", "+1 415 555 0100", "+1 415 555 0101", false},
		{"two unparsable values are not equal", "n/a", "n/a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Equal(tt.a, tt.b, ""); got != tt.want {
				t.Errorf("Equal(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}
