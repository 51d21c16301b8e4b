// Background indexing with WorkManager: new, changed and deleted photos (MediaStore) into the store,
// one transaction per batch, so a stopped or killed run resumes where it was with nothing duplicated.
package org.pocketclip.app

import android.content.Context
import android.provider.MediaStore
import android.util.Log
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import androidx.work.workDataOf
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import org.pocketclip.core.Float16
import org.pocketclip.core.IndexSync
import org.pocketclip.core.PhotoRecord
import org.pocketclip.core.ProductQuantizer
import org.pocketclip.core.StoreSchema
import java.util.concurrent.TimeUnit

class IndexWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {

    override suspend fun doWork(): Result = withContext(Dispatchers.Default) {
        val context = applicationContext
        // Without photo access MediaStore lists nothing, and syncing that would mark every indexed photo deleted.
        if (!PhotoLibrary.hasAccess(context)) return@withContext Result.failure()
        val manifest = BundleFiles.load(context)
        val store = StoreFiles.open(context)
        val model = manifest.fingerprint
        store.bindBundle(manifest, reindex = true) // a new model re-embeds every photo, never mixes two models
        val pq = ProductQuantizer.fromBundle(manifest)
        if (pq != null) store.bindCodebooks(manifest.pq!!.sha256)
        val library = PhotoLibrary(context)
        val photos = library.list()
        val byPath = photos.associateBy { it.stat.path }
        var done = 0
        Towers.open(manifest, "image").use { tower ->
            store.db.transaction {
                store.putMeta(StoreSchema.Meta.ROOT, "MediaStore:${MediaStore.VOLUME_EXTERNAL}")
                store.putMeta(StoreSchema.Meta.BUNDLE, manifest.root.path)
                store.putMeta(StoreSchema.Meta.BACKEND, tower.artifact.format)
                store.putMeta(StoreSchema.Meta.PRECISION, tower.artifact.precision)
            }
            val report = IndexSync(store, model).run(photos.map { it.stat }, { library.contentHash(byPath.getValue(it.path).uri) },
                BATCH) { batch ->
                if (isStopped) throw CancellationException("indexing stopped") // the batch in hand is not written
                val decoded = batch.map { (stat, digest) ->
                    val photo = byPath.getValue(stat.path)
                    try {
                        Triple(stat, digest, PhotoDecoder.load(context.contentResolver, photo.uri, manifest.preprocess, photo.mimeType))
                    } catch (e: Exception) {
                        Log.i(TAG, "skipping ${stat.path}: ${e.message}")
                        Triple(stat, digest, e.message ?: e.javaClass.simpleName)
                    }
                }
                val ok = decoded.filter { it.third is DecodedPhoto }
                val vectors = tower.embedPixels(ok.map { (it.third as DecodedPhoto).pixels })
                val byOk = ok.map { it.first.path }.zip(vectors).toMap()
                done += batch.size
                setProgressAsync(workDataOf(PROGRESS_DONE to done, PROGRESS_TOTAL to photos.size))
                decoded.map { (stat, digest, result) ->
                    val vector = byOk[stat.path]
                    if (result is DecodedPhoto && vector != null) {
                        PhotoRecord(stat.path, stat.size, stat.mtimeNs, digest, result.width, result.height, vector = vector,
                            pqCode = pq?.encode(Float16.decode(Float16.encode(vector)))) // codes of the stored float16 vector
                    } else {
                        PhotoRecord(stat.path, stat.size, stat.mtimeNs, digest, null, null, error = "cannot decode: $result")
                    }
                }
            }
            if (pq != null) store.fillMissingCodes(model, pq) // vectors kept from before new codebooks
            Log.i(TAG, "indexed: $report")
            Result.success(workDataOf("embedded" to report.embedded, "unchanged" to report.unchanged,
                "moved" to report.moved, "deleted" to report.deleted, "errors" to report.errors))
        }.also { scheduleOnChange(context, rearmAfterItself = ON_CHANGE in tags) }
    }

    companion object {
        private const val TAG = "pocketclip"
        private const val BATCH = 16
        const val PROGRESS_DONE = "done"
        const val PROGRESS_TOTAL = "total"
        const val NOW = "pocketclip-index"
        private const val ON_CHANGE = "pocketclip-index-on-change"
        private const val DAILY = "pocketclip-index-daily"

        /** Index now, then whenever MediaStore's images change, and once a day as a safety net. */
        fun schedule(context: Context) {
            val work = WorkManager.getInstance(context)
            work.enqueueUniqueWork(NOW, ExistingWorkPolicy.KEEP, OneTimeWorkRequestBuilder<IndexWorker>().build())
            work.enqueueUniquePeriodicWork(DAILY, ExistingPeriodicWorkPolicy.KEEP,
                PeriodicWorkRequestBuilder<IndexWorker>(1, TimeUnit.DAYS)
                    .setConstraints(Constraints.Builder().setRequiresBatteryNotLow(true).build()).build())
            scheduleOnChange(context, rearmAfterItself = false)
        }

        /**
         * A content-URI trigger fires once, so every run re-arms it. The triggered run itself is still running
         * then, and appends its successor; any other caller keeps a pending trigger, so the chain never grows.
         */
        private fun scheduleOnChange(context: Context, rearmAfterItself: Boolean) {
            val constraints = Constraints.Builder()
                .addContentUriTrigger(MediaStore.Images.Media.getContentUri(MediaStore.VOLUME_EXTERNAL), true)
                .setTriggerContentUpdateDelay(10, TimeUnit.SECONDS)
                .setRequiresBatteryNotLow(true)
                .build()
            val policy = if (rearmAfterItself) ExistingWorkPolicy.APPEND_OR_REPLACE else ExistingWorkPolicy.KEEP
            WorkManager.getInstance(context).enqueueUniqueWork(ON_CHANGE, policy,
                OneTimeWorkRequestBuilder<IndexWorker>().setConstraints(constraints).addTag(ON_CHANGE).build())
        }
    }
}
