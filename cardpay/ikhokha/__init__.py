"""Everything that speaks iKhokha's wire format: signing, the API client, the sandbox gateway."""
