"""Request and response schemas (marshmallow): they validate input, shape output and generate
the OpenAPI document, so the three never drift apart."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.errors import ERRORS


class PredictFormSchema(Schema):
    # No example value: Swagger UI would fill it in, and a top_k in the query too is refused.
    top_k = fields.Integer(metadata={
        "description": "How many classes to return: 1 to the number of classes; default 5. The "
                       "model's own range and default are in /api/model (limits.top_k). Or send it "
                       "as the query parameter, not both."})


# The multipart bodies, for the OpenAPI document (the files are read by the views themselves).
_IMAGE_FILE = {"type": "string", "format": "binary", "description": "JPEG, PNG, WebP, GIF, BMP or TIFF"}


class PredictUploadSchema(PredictFormSchema):
    image = fields.Raw(required=True, metadata=_IMAGE_FILE)


class BatchUploadSchema(PredictFormSchema):
    images = fields.List(fields.Raw(metadata=_IMAGE_FILE), required=True,
                         metadata={"description": "1-64 image files (MAX_BATCH_FILES)"})


class FeedbackUploadSchema(Schema):
    image = fields.Raw(required=True, metadata={**_IMAGE_FILE, "description": "The picture as it was "
                                                "classified (the crop, the webcam frame)"})
    label = fields.String(required=True, metadata={
        "description": "The right class: one of the model's classes (/api/model), or none (none of them)."})
    predicted = fields.String(metadata={"description": "The class the model gave (optional)."})
    consent = fields.String(required=True, validate=validate.OneOf(["true"]), metadata={
        "description": "true: the sender agrees that the picture is kept to improve the model."})


class FeedbackCreatedSchema(Schema):
    id = fields.String(required=True, metadata={"description": "32 hexadecimal digits."})
    delete_token = fields.String(required=True, metadata={
        "description": "Withdraws this entry: DELETE /api/feedback/{id} with Authorization: Bearer "
                       "<delete_token>. Shown once; only its hash is stored."})


class ExplainUploadSchema(Schema):
    image = fields.Raw(required=True, metadata=_IMAGE_FILE)
    label = fields.String(metadata={"description": "The class to explain (default: the top one)."})


class PredictionSchema(Schema):
    label = fields.String(required=True, metadata={"example": "cat"})
    probability = fields.Float(required=True, validate=validate.Range(min=0, max=1),
                               metadata={"example": 0.91})


NOT_SURE = {"description": "True when the top probability is below the model's not_sure_threshold "
                          "(/api/model): the picture is probably none of the classes, and the page "
                          "says \"Not sure\"."}


class PredictResponseSchema(Schema):
    predictions = fields.List(fields.Nested(PredictionSchema), required=True,
                              metadata={"description": "Sorted by probability, descending."})
    not_sure = fields.Boolean(required=True, metadata=NOT_SURE)
    top_k = fields.Integer(required=True)
    model_version = fields.String(required=True)
    elapsed_ms = fields.Float(required=True, metadata={"description": "Server time: decode + predict."})


class ErrorBodySchema(Schema):
    code = fields.String(required=True, validate=validate.OneOf(sorted(ERRORS)),
                         metadata={"example": "unsupported_media_type"})
    message = fields.String(required=True)
    details = fields.Dict(required=True)
    request_id = fields.String(metadata={"description": "The request's X-Request-ID, as in the logs."})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class BatchItemSchema(Schema):
    filename = fields.String(required=True)
    predictions = fields.List(fields.Nested(PredictionSchema))
    not_sure = fields.Boolean(metadata=NOT_SURE)
    error = fields.Nested(ErrorBodySchema)


class BatchResponseSchema(Schema):
    results = fields.List(fields.Nested(BatchItemSchema), required=True,
                          metadata={"description": "One entry per uploaded file, in upload order."})
    top_k = fields.Integer(required=True)
    model_version = fields.String(required=True)
    elapsed_ms = fields.Float(required=True)


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})
    model_loaded = fields.Boolean(required=True)
    model_version = fields.String(required=True)


class ReportsSchema(Schema):
    confusion_matrix = fields.String(allow_none=True, metadata={"description": "URL of a PNG."})
    grid_search = fields.String(allow_none=True, metadata={"description": "URL of a PNG."})
    reliability = fields.String(allow_none=True, metadata={"description": "URL of a PNG."})


class ExampleSchema(Schema):
    label = fields.String(required=True, metadata={"description": "The class it shows."})
    url = fields.String(required=True, metadata={"description": "The picture, to send to /api/predict."})
    source = fields.String(allow_none=True, metadata={"description": "Where it comes from."})
    credit = fields.String(allow_none=True)


class ExamplesSchema(Schema):
    examples = fields.List(fields.Nested(ExampleSchema), required=True, metadata={
        "description": "One per class, or none where this server has no example pictures."})


class TopKSchema(Schema):
    min = fields.Integer(required=True)
    max = fields.Integer(required=True, metadata={"description": "The number of classes."})
    default = fields.Integer(required=True)


class LimitsSchema(Schema):
    """What a request may hold, as the server enforces it (backend/config.py): the page reads these."""

    top_k = fields.Nested(TopKSchema, required=True)
    max_upload_bytes = fields.Integer(required=True, metadata={"description": "One file."})
    max_batch_files = fields.Integer(required=True, metadata={"description": "Files per batch request."})
    max_batch_bytes = fields.Integer(required=True)
    max_image_pixels = fields.Integer(required=True)
    max_decode_bytes = fields.Integer(required=True,
                                      metadata={"description": "Decoding memory of one image."})
    max_aspect_ratio = fields.Float(required=True)
    live_frames_per_second = fields.Float(required=True, metadata={
        "description": "Frames a second the page's live webcam mode sends: a share of the rate limits, "
                       "so that it can run for as long as the user likes."})


class ModelInfoSchema(Schema):
    classes = fields.List(fields.String(), required=True)
    input_size = fields.List(fields.Integer(), required=True)
    version = fields.String(required=True)
    sha256 = fields.String(required=True)
    accuracy = fields.Float(allow_none=True, metadata={"description": "Validation top-1 accuracy."})
    metrics = fields.Dict(required=True)
    params = fields.Dict(required=True)
    architecture = fields.String(allow_none=True, metadata={
        "description": "The network in one line, from the model card (e.g. an ensemble of two nets)."})
    trained_at = fields.String(allow_none=True)
    reports = fields.Nested(ReportsSchema, required=True)
    not_sure_threshold = fields.Float(required=True, metadata={
        "description": "Below this top-1 probability the picture is probably none of the classes: "
                       "the page says \"Not sure\". Chosen from data when the model was calibrated."})
    calibration = fields.Dict(allow_none=True, metadata={
        "description": "Temperature scaling: temperature, expected calibration error before and after."})
    fine_tuning = fields.Dict(allow_none=True, metadata={
        "description": "The networks' last training step, when they were fine-tuned after training "
                       "(outlier exposure on photos of other things): epochs, learning_rate, weight, "
                       "images. The epochs and learning rate in params are this step's."})
    limits = fields.Nested(LimitsSchema, required=True)
    feedback = fields.Boolean(required=True, metadata={
        "description": "Whether this server keeps corrections (POST /api/feedback); false: FEEDBACK=off, "
                       "and the page shows no \"Wrong answer?\"."})
    # Kept for clients of the first version of this API: the same figures as in ``limits``.
    max_upload_bytes = fields.Integer(required=True, metadata={"deprecated": True,
                                                               "description": "limits.max_upload_bytes"})
    max_batch = fields.Integer(required=True, metadata={"deprecated": True,
                                                        "description": "limits.max_batch_files"})
    default_top_k = fields.Integer(required=True, metadata={"deprecated": True,
                                                            "description": "limits.top_k.default"})


class ExplainResponseSchema(Schema):
    label = fields.String(required=True, metadata={"description": "The class explained."})
    probability = fields.Float(required=True)
    heatmap = fields.List(fields.List(fields.Float()), required=True, metadata={
        "description": "One value per pixel of the network's input (rows of columns): how much "
                       "covering that part lowered the class's probability; negative: covering "
                       "it raised it."})
    input_png = fields.String(required=True, metadata={
        "description": "What the model saw: its input picture (before normalisation), a PNG data URL."})
    patch = fields.Integer(required=True, metadata={"description": "Side of the grey square, pixels."})
    stride = fields.Integer(required=True)
    positions = fields.Integer(required=True, metadata={"description": "Squares tried, in one batch."})
    model_version = fields.String(required=True)
    elapsed_ms = fields.Float(required=True)
