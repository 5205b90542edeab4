"""The Messages API's own rules: building a request, checking a reply, prompt
caching, server tools, API versions, hints for its errors, usage, models, limits.
"""
