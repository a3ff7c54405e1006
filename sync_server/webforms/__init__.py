"""What the HTML forms of every domain share: one-time form nonces (a double submit creates one
thing) and turning the API's refusals into messages next to the fields."""
