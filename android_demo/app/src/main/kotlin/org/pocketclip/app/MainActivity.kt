// One screen: asks for photo access, starts background indexing, searches by text or by photo, shows a grid.
package org.pocketclip.app

import android.os.Bundle
import android.view.inputmethod.EditorInfo
import android.widget.Button
import android.widget.EditText
import android.widget.TextView
import androidx.activity.ComponentActivity
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.lifecycle.lifecycleScope
import androidx.recyclerview.widget.GridLayoutManager
import androidx.recyclerview.widget.RecyclerView
import androidx.work.WorkInfo
import androidx.work.WorkManager
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

class MainActivity : ComponentActivity() {
    private lateinit var status: TextView
    private lateinit var adapter: ResultsAdapter
    private var engine: SearchEngine? = null

    // Android 14's "selected photos" grants READ_MEDIA_VISUAL_USER_SELECTED and denies READ_MEDIA_IMAGES: either is access.
    private val askPermission = registerForActivityResult(ActivityResultContracts.RequestMultiplePermissions()) { granted ->
        if (PhotoLibrary.hasAccess(this)) startIndexing() else status.setText(R.string.needs_permission)
    }

    private val pickPhoto = registerForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
        if (uri != null) search("photo") { it.searchPhoto(uri) }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        status = findViewById(R.id.status)
        val query = findViewById<EditText>(R.id.query)
        adapter = ResultsAdapter(lifecycleScope) { hit -> hit.uri?.let { uri -> search(hit.path) { it.searchPhoto(uri) } } }
        findViewById<RecyclerView>(R.id.results).apply {
            layoutManager = GridLayoutManager(this@MainActivity, 3)
            adapter = this@MainActivity.adapter
        }
        val runQuery = { query.text.toString().trim().takeIf { it.isNotEmpty() }?.let { text -> search(text) { it.searchText(text) } } }
        findViewById<Button>(R.id.search).setOnClickListener { runQuery() }
        query.setOnEditorActionListener { _, action, _ -> (action == EditorInfo.IME_ACTION_SEARCH).also { if (it) runQuery() } }
        findViewById<Button>(R.id.by_photo).setOnClickListener {
            pickPhoto.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly))
        }
        if (PhotoLibrary.hasAccess(this)) startIndexing() else askPermission.launch(PhotoLibrary.REQUESTED)
    }

    private fun startIndexing() {
        lifecycleScope.launch {
            // Off the main thread: the first load copies a packaged bundle (tens of MB) out of the APK.
            val failure = withContext(Dispatchers.IO) { runCatching { BundleFiles.load(applicationContext) }.exceptionOrNull() }
            if (failure != null) {
                status.text = getString(R.string.no_bundle, BundleFiles.pushed(this@MainActivity).path) + "\n" + failure.message
            } else {
                observeIndexing()
            }
        }
    }

    private fun observeIndexing() {
        IndexWorker.schedule(this)
        WorkManager.getInstance(this).getWorkInfosForUniqueWorkLiveData(IndexWorker.NOW).observe(this) { infos ->
            val info = infos.firstOrNull() ?: return@observe
            status.text = when (info.state) {
                WorkInfo.State.RUNNING -> "indexing ${info.progress.getInt(IndexWorker.PROGRESS_DONE, 0)} / " +
                    "${info.progress.getInt(IndexWorker.PROGRESS_TOTAL, 0)} new or changed photos"
                WorkInfo.State.SUCCEEDED -> {
                    engine?.let { e -> lifecycleScope.launch(Dispatchers.Default) { e.reload() } } // search the new photos
                    "indexed: ${info.outputData.getInt("embedded", 0)} embedded, " +
                        "${info.outputData.getInt("unchanged", 0)} unchanged, ${info.outputData.getInt("deleted", 0)} deleted"
                }
                else -> "indexing: ${info.state.name.lowercase()}"
            }
        }
    }

    private fun search(label: String, run: (SearchEngine) -> List<Hit>) {
        status.text = "searching: $label"
        lifecycleScope.launch {
            val result = withContext(Dispatchers.Default) {
                runCatching { run(engine ?: SearchEngine(applicationContext).also { engine = it }) }
            }
            result.onSuccess { hits ->
                adapter.show(hits)
                status.text = "${hits.size} photos for: $label"
            }.onFailure { status.text = "search failed: ${it.message}" }
        }
    }

    override fun onDestroy() {
        engine?.close()
        super.onDestroy()
    }
}
