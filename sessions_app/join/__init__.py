"""The participant's way in (DESIGN.md rule 5): join links, the token-for-cookie trade and the lobby."""
