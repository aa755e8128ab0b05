package privacystore

import (
	"strings"
	"unicode"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/domain/chats"
)

// Kinds of identifier a visitor is named by.
const (
	KindEmail = "email"
	KindPhone = "phone"
)

// maxEmail is the longest email address SMTP allows (RFC 5321's path limit).
const maxEmail = 254

// Subject is a visitor as an access request or an erasure names them: one email or
// one phone number, normalised the way matching compares them (sell.NormalizeEmail;
// E.164 for phones), so every spelling of the same identifier is the same subject.
type Subject struct {
	Kind  string // KindEmail or KindPhone
	Value string // the normalised email, or the phone in E.164 ("+14155550100")
}

// EmailSubject is the subject named by email; ok false when it is no email address.
func EmailSubject(raw string) (Subject, bool) {
	e := sell.NormalizeEmail(raw)
	local, domain, found := strings.Cut(e, "@")
	if !found || local == "" || domain == "" || strings.Contains(domain, "@") || len(e) > maxEmail ||
		strings.ContainsFunc(e, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return Subject{}, false
	}
	return Subject{Kind: KindEmail, Value: e}, true
}

// PhoneSubject is the subject named by a phone number, read as matching reads it
// (readPhone: phone.E164 in production); ok false when it is no phone number.
func PhoneSubject(raw string, readPhone func(string) (string, bool)) (Subject, bool) {
	if readPhone == nil {
		return Subject{}, false
	}
	e, ok := readPhone(raw)
	if !ok || digits(e) == "" {
		return Subject{}, false
	}
	return Subject{Kind: KindPhone, Value: e}, true
}

// Matches reports whether a chat's visitor is the subject, comparing as matching
// does. readPhone reads the visitor's phone; without it phones are compared by their
// digits alone, which finds a visitor who typed the country code.
func (s Subject) Matches(v chats.Visitor, readPhone func(string) (string, bool)) bool {
	switch s.Kind {
	case KindEmail:
		return sell.SameEmail(v.Email, s.Value)
	case KindPhone:
		if strings.TrimSpace(v.Phone) == "" {
			return false
		}
		if readPhone != nil {
			e, ok := readPhone(v.Phone)
			return ok && e == s.Value
		}
		return digits(v.Phone) == digits(s.Value)
	}
	return false
}

// hashInput is what the subject's keyed hash is taken of. A phone is hashed by its
// digits: E.164 is "+" and digits, and the ingest, which links no phone library,
// can then name a redelivered chat's phone the same way (see Erased).
func (s Subject) hashInput() string {
	if s.Kind == KindPhone {
		return KindPhone + ":" + digits(s.Value)
	}
	return s.Kind + ":" + s.Value
}

// digits keeps the ASCII digits of s.
func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// parseSubject reads back what sealSubject sealed ("email:…", "phone:…").
func parseSubject(s string) (Subject, bool) {
	kind, value, ok := strings.Cut(s, ":")
	if !ok || value == "" || (kind != KindEmail && kind != KindPhone) {
		return Subject{}, false
	}
	return Subject{Kind: kind, Value: value}, true
}
