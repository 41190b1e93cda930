// Package redact keeps credentials and content out of logs, errors and
// events. It is the lowest package of the module: every other package may
// import it, and it imports none of them.
//
// Two types hold what must never be printed. A Secret holds a credential
// (an upstream provider's API key) and a Body holds content (a prompt, a
// completion, an upstream error body). Every way of printing them (String,
// every fmt verb, slog's LogValuer, JSON, text and XML encoding) shows a
// placeholder: "[redacted]" for a Secret, "[redacted body, 42 bytes]" for a
// Body; gob, which cannot be given a placeholder, refuses them.
// Secret.Reveal and Body.Bytes reach the value, at the places that send it;
// Secret.Hint gives the display form an operator needs (a vendor prefix and
// the last four characters, "sk-…a1B2"). Both keep their value
// behind a pointer, so that even an unexported field of either type, which
// fmt prints by reflection, shows an address rather than the value.
//
// Text that may hold credentials is masked by Mask: API keys of common
// vendors' shapes and of this module's format keep their prefix and last
// four characters ("sk-proj-…a1B2", "wk_…a1B2"); bearer and basic
// credentials, JSON Web Tokens, the values after credential labels
// ("x-api-key: …") and credential-bearing URL query parameters ("?key=…")
// become "[redacted]". ScrubError applies the same masks to an error's
// message and also removes the query, fragment and user information of
// every URL in it, which a *url.Error from net/http carries in full; the
// scrubbed error still answers errors.Is for the original's causes
// (context.DeadlineExceeded and the like) and net.Error's Timeout, without
// unwrapping to the original.
//
// NewHandler wraps an slog.Handler so that what reaches it holds neither
// credentials nor content: attributes keyed by credential headers or by
// the names that carry content (DefaultDropKeys: authorization, x-api-key,
// cookie, messages, prompt, input, content…) are dropped at any depth, in
// WithAttrs, groups, LogValuer results and maps; strings, URLs and errors
// are masked and scrubbed as Mask and ScrubError do. It passes
// testing/slogtest, and a record with nothing to remove reaches the wrapped
// handler unchanged and without allocation.
//
// A Pseudonymizer turns an identifier such as an e-mail address into a
// stable keyed HMAC ("pn_…"), so that an application can recognise a
// returning sign-up for fraud prevention without storing the identifier.
//
// What redact cannot do: recognise a credential with no distinctive shape
// (such as 32 hexadecimal characters) outside a labelled position, or see
// inside values of arbitrary types that a handler prints by reflection.
// Keep those out of logs in the first place; redact is the second line.
package redact
