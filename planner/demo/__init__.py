"""The bundled example fleet (package data): the layout of the reference text, seven clusters."""
