package idvmock

// OpSessionCompleted is idvmock's name for the delivery of a session's completion: the plain
// callback to the session's callbackUrl, or the signed webhook of the account. It is the key
// of the webhook in openapi.yaml's x-webhooks, and what a scenario rule's
// match.operation names to act on deliveries (with the delivery faults duplicate_delivery
// and bad_signature). It is not an operation of the vendor's API: no request has it.
const OpSessionCompleted = "sessionCompleted"

// The types of a delivery's body, {"signatureId": ..., "type": ...}.
const (
	DeliveryCompleted       = "COMPLETED"        // the session finished with a verdict (never sent for INCOMPLETE)
	DeliverySubmitCompleted = "SUBMIT_COMPLETED" // the user finished submitting; the verdict follows
)
