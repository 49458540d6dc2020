"""Running the service: the app (`app.create_app`), `feedhub serve` on uvicorn (`serve`,
`httpserver`), the poll scheduler (`scheduler`) and which process polls (`leader`).
"""
