// The seqvault API as the uploader uses it: request-uploads, the multipart endpoints, files.
// Errors keep the API's stable shape {error: {code, message, details}}.

export class ApiError extends Error {
  constructor(status, code, message, details = {}, retryAfter = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }

  // Worth asking again: the network, the server or S3 failed, or we were asked to wait.
  get transient() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

export class Api {
  constructor(base, csrfToken) {
    this.base = base.replace(/\/+$/, '');
    this.csrfToken = csrfToken;
  }

  async request(method, path, body) {
    let response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        credentials: 'same-origin',
        headers: {
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          'X-CSRFToken': this.csrfToken,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError(0, 'network_error', `The server could not be reached (${error.message}).`);
    }
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const error = (data && data.error) || {};
      throw new ApiError(
        response.status,
        error.code || `http_${response.status}`,
        error.message || `The server answered ${response.status} ${response.statusText}.`,
        error.details || {},
        Number.parseInt(response.headers.get('Retry-After') || '', 10) || null,
      );
    }
    return data;
  }

  requestUploads(groupId, files) {
    return this.request('POST', '/files/request-uploads', { groupId, files });
  }

  file(fileId) {
    return this.request('GET', `/files/${fileId}/`);
  }

  confirm(fileId) {
    return this.request('POST', `/files/${fileId}/confirm`);
  }

  startMultipart(fileId) {
    return this.request('POST', `/files/${fileId}/multipart_uploads`, {});
  }

  partUrls(uploadId, parts) {
    return this.request('POST', `/multipart_uploads/${uploadId}/parts`, { parts });
  }

  heldParts(uploadId) {
    return this.request('GET', `/multipart_uploads/${uploadId}/parts`);
  }

  complete(uploadId, etags) {
    return this.request('PATCH', `/multipart_uploads/${uploadId}/`, { status: 'uploaded', parts: etags });
  }

  cancel(uploadId) {
    return this.request('PATCH', `/multipart_uploads/${uploadId}/`, { status: 'cancelled' });
  }
}
